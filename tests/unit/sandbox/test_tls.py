"""The sandbox CA: a loopback server certificate that real TLS clients accept, made once and reused."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
import stat
from pathlib import Path

import pytest
from cryptography import x509

from sandbox.tls import TlsFiles, ensure_ca


def handshake(files: TlsFiles, server_name: str) -> None:
    """A full TLS handshake in memory between a server using the files and a client trusting only the CA."""
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(files.cert_file, files.key_file)
    client_ctx = ssl.create_default_context(cafile=str(files.ca_file))
    c_in, c_out, s_in, s_out = ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO()
    client = client_ctx.wrap_bio(c_in, c_out, server_hostname=server_name)
    server = server_ctx.wrap_bio(s_in, s_out, server_side=True)
    done = {"client": False, "server": False}
    for _ in range(10):
        for name, end in (("client", client), ("server", server)):
            if not done[name]:
                try:
                    end.do_handshake()
                    done[name] = True
                except ssl.SSLWantReadError:
                    pass
        s_in.write(c_out.read())
        c_in.write(s_out.read())
        if all(done.values()):
            return
    raise AssertionError("handshake did not finish")


def test_server_certificate_names_loopback_and_is_signed_by_the_ca(tmp_path: Path) -> None:
    files = ensure_ca(tmp_path)
    cert = x509.load_pem_x509_certificate(files.cert_file.read_bytes())
    ca = x509.load_pem_x509_certificate(files.ca_file.read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert set(san.get_values_for_type(x509.IPAddress)) == {
        ipaddress.ip_address("127.0.0.1"),
        ipaddress.ip_address("::1"),
    }
    assert san.get_values_for_type(x509.DNSName) == ["localhost"]
    cert.verify_directly_issued_by(ca)
    lifetime = cert.not_valid_after_utc - dt.datetime.now(dt.UTC)
    assert dt.timedelta(days=700) < lifetime < dt.timedelta(days=740)
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca


@pytest.mark.parametrize("server_name", ["127.0.0.1", "::1", "localhost"])
def test_a_client_trusting_the_ca_accepts_the_server(tmp_path: Path, server_name: str) -> None:
    handshake(ensure_ca(tmp_path), server_name)


def test_a_client_refuses_other_names(tmp_path: Path) -> None:
    with pytest.raises(ssl.SSLCertVerificationError):
        handshake(ensure_ca(tmp_path), "sandbox.example.org")


def test_private_keys_are_readable_by_the_owner_only(tmp_path: Path) -> None:
    files = ensure_ca(tmp_path)
    for key in (files.key_file, tmp_path / "ca-key.pem"):
        assert stat.S_IMODE(key.stat().st_mode) == 0o600, key


def test_files_are_reused_on_the_next_call(tmp_path: Path) -> None:
    first = ensure_ca(tmp_path)
    contents = {p: p.read_bytes() for p in (first.ca_file, first.cert_file, first.key_file)}
    second = ensure_ca(tmp_path)
    assert second == first
    assert {p: p.read_bytes() for p in contents} == contents


def test_a_missing_server_certificate_is_remade_under_the_same_ca(tmp_path: Path) -> None:
    first = ensure_ca(tmp_path)
    ca_before = first.ca_file.read_bytes()
    first.cert_file.unlink()
    second = ensure_ca(tmp_path)
    assert second.ca_file.read_bytes() == ca_before
    handshake(second, "127.0.0.1")
