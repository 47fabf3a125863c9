"""A private certificate authority for the sandboxes, so official clients speak real HTTPS to loopback.

Some clients refuse plain HTTP outright (``azure.identity`` wants a TLS-protected authority), so the
sandbox serves HTTPS with a server certificate signed by a CA made once per state directory. Point
the client at ``ca.pem`` (``connection_verify=``, ``verify=``) instead of disabling verification.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_CERT_NAME = "ca.pem"
CA_KEY_NAME = "ca-key.pem"
SERVER_CERT_NAME = "server.pem"
SERVER_KEY_NAME = "server-key.pem"
SERVER_VALIDITY = dt.timedelta(days=730)
CA_VALIDITY = dt.timedelta(days=3650)
# Kept short of the end so a reused certificate is replaced before clients start refusing it.
RENEW_BEFORE = dt.timedelta(days=30)
SERVER_HOSTS = ("127.0.0.1", "::1", "localhost")


class TlsSetupError(RuntimeError):
    """The sandbox TLS files could not be created or read; the message names the file."""


@dataclass(frozen=True)
class TlsFiles:
    """Paths of the sandbox CA certificate and of the server certificate and key it signed."""

    ca_file: Path
    cert_file: Path
    key_file: Path


def ensure_ca(state_dir: Path) -> TlsFiles:
    """Create the sandbox CA and a loopback server certificate in ``state_dir`` once; reuse them after."""
    state_dir = Path(state_dir)
    state_dir.mkdir(parents=True, exist_ok=True)
    files = TlsFiles(
        ca_file=state_dir / CA_CERT_NAME,
        cert_file=state_dir / SERVER_CERT_NAME,
        key_file=state_dir / SERVER_KEY_NAME,
    )
    ca_key_file = state_dir / CA_KEY_NAME
    if files.ca_file.exists() and ca_key_file.exists():
        ca_cert, ca_key = _read_cert(files.ca_file), _read_key(ca_key_file)
        if _expires_soon(ca_cert):
            ca_cert, ca_key = _write_ca(files.ca_file, ca_key_file)
    else:
        ca_cert, ca_key = _write_ca(files.ca_file, ca_key_file)
    if not _server_cert_usable(files, ca_cert):
        _write_server_cert(files, ca_cert, ca_key)
    return files


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _expires_soon(cert: x509.Certificate) -> bool:
    return cert.not_valid_after_utc - RENEW_BEFORE < _now()


def _read_cert(path: Path) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(path.read_bytes())
    except ValueError as exc:
        raise TlsSetupError(f"{path}: not a PEM certificate; delete it to have the sandbox make a new one") from exc


def _read_key(path: Path) -> ec.EllipticCurvePrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except ValueError as exc:
        raise TlsSetupError(f"{path}: not an unencrypted PEM key; delete it and the CA beside it") from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise TlsSetupError(f"{path}: expected an EC private key; delete it and the CA beside it")
    return key


def _write_private(path: Path, data: bytes) -> None:
    """Write a key readable by its owner only, from the first byte (no window with wider rights)."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def _write_public(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _write_ca(cert_path: Path, key_path: Path) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Sésame sandbox CA")])
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + CA_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write_private(key_path, _key_pem(key))
    _write_public(cert_path, cert.public_bytes(serialization.Encoding.PEM))
    return cert, key


def _server_cert_usable(files: TlsFiles, ca_cert: x509.Certificate) -> bool:
    if not (files.cert_file.exists() and files.key_file.exists()):
        return False
    try:
        cert = x509.load_pem_x509_certificate(files.cert_file.read_bytes())
    except ValueError:
        return False
    return cert.issuer == ca_cert.subject and not _expires_soon(cert) and _signed_by(cert, ca_cert)


def _signed_by(cert: x509.Certificate, ca_cert: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(ca_cert)
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


def _general_name(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def _write_server_cert(files: TlsFiles, ca_cert: x509.Certificate, ca_key: ec.EllipticCurvePrivateKey) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    now = _now()
    alt_names = [_general_name(host) for host in SERVER_HOSTS]
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + SERVER_VALIDITY)
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    _write_private(files.key_file, _key_pem(key))
    _write_public(files.cert_file, cert.public_bytes(serialization.Encoding.PEM))
