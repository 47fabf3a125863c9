"""A throwaway Samba Active Directory domain controller on loopback, owned by the calling process.

Everything lives under one work directory (nothing in /etc/samba or /var/lib/samba). Samba cannot
move its LDAP ports, so the DC listens on the standard 389/636 of 127.0.0.1 and [::1] only.
"""

from __future__ import annotations

import ctypes
import functools
import os
import re
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import tarfile
import time
from pathlib import Path
from types import TracebackType

import ldap3
from ldap3.core.exceptions import LDAPException

LDAPS_PORT = 636
_SNAPSHOT_VERSION = "1"
# Only smb.conf names the work directory; these are runtime leftovers not worth snapshotting.
_NOT_SNAPSHOTTED = {"run", "logs", "msg.sock", "msg.lock"}
_PASSWORD_FILE = "sesame-admin-password"
_PR_SET_PDEATHSIG = 1


class SambaError(RuntimeError):
    """The Samba DC could not be provisioned, started or reached; the message says what to check."""


def samba_unavailable_reason() -> str | None:
    """Why a Samba DC cannot run here, or None when samba-tool, samba and root are all available."""
    missing = [name for name in ("samba-tool", "samba") if _which(name) is None]
    if missing:
        return f"{' and '.join(missing)} not found (install the Samba AD packages: ops/install-services.sh)"
    if os.geteuid() != 0:
        return "the Samba AD DC must run as root (it binds ports 389/636 and writes NT ACL xattrs)"
    return None


def generate_password() -> str:
    """A random password that satisfies AD complexity rules (upper, lower, digit, symbol)."""
    return f"{secrets.token_urlsafe(18)}-Aa1"


def _which(name: str) -> str | None:
    # samba lives in /usr/sbin, which is not on every PATH (e.g. non-login shells).
    return shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin:/sbin:/bin")


def _default_snapshot_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "sesame"


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    """True when something accepts TCP connections on ``host:port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((host, port)) == 0


@functools.cache
def _samba_version() -> str:
    result = subprocess.run([_which("samba") or "samba", "-V"], capture_output=True, text=True, check=False)
    version = result.stdout.strip().removeprefix("Version ").strip()
    return re.sub(r"[^A-Za-z0-9.]+", "_", version) or "unknown"


def _terminate_with_parent() -> None:
    """In the child before exec: ask Linux to SIGTERM us when our parent dies, so no DC is orphaned."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass  # not Linux: stop() remains the way to end the DC


class SambaDC:
    """Provision, start, wait for and stop a Samba AD DC whose files all live under ``workdir``."""

    def __init__(
        self,
        workdir: Path,
        *,
        realm: str = "TEST.LOCAL",
        admin_password: str | None = None,
        snapshot_dir: Path | None = None,
        use_snapshot: bool = True,
    ) -> None:
        self.workdir = Path(workdir).resolve()
        self.realm = realm.upper()
        labels = self.realm.split(".")
        if len(labels) < 2 or not all(labels) or len(labels[0]) > 15:
            raise ValueError(f"realm {realm!r} must look like NAME.TLD with a first label of at most 15 chars")
        self.domain = labels[0]
        self._password_given = admin_password is not None
        self._password = admin_password if admin_password is not None else generate_password()
        self.snapshot_dir = snapshot_dir if snapshot_dir is not None else _default_snapshot_dir()
        self.use_snapshot = use_snapshot
        self._process: subprocess.Popen[bytes] | None = None
        self._restored_from: Path | None = None

    # -- connection facts -------------------------------------------------------------------
    @property
    def url(self) -> str:
        """LDAPS URL of the DC."""
        return f"ldaps://127.0.0.1:{LDAPS_PORT}"

    @property
    def bind_dn(self) -> str:
        """The Administrator's bind name, in UPN form."""
        return f"Administrator@{self.realm.lower()}"

    @property
    def password(self) -> str:
        """The Administrator's password (test-only secret)."""
        return self._password

    @property
    def base_dn(self) -> str:
        """The domain's naming context, e.g. ``DC=test,DC=local``."""
        return ",".join(f"DC={label.lower()}" for label in self.realm.split("."))

    @property
    def host_name(self) -> str:
        """The DC's DNS name, as written in the certificate Samba generates."""
        return f"dc1.{self.realm.lower()}"

    @property
    def ca_file(self) -> str | None:
        """The CA certificate Samba generated on first start, when present and loadable."""
        ca = self.workdir / "private" / "tls" / "ca.pem"
        if not ca.is_file():
            return None
        try:
            ssl.create_default_context(cafile=str(ca))
        except (ssl.SSLError, OSError):
            return None
        return str(ca)

    @property
    def smb_conf(self) -> Path:
        """The DC's own smb.conf (pass it to samba-tool with ``-s``)."""
        return self.workdir / "etc" / "smb.conf"

    @property
    def pid(self) -> int | None:
        """PID of the running ``samba -F`` process, if we started one."""
        return self._process.pid if self._process is not None else None

    @property
    def log_file(self) -> Path:
        """Samba's combined stdout/stderr of the current run."""
        return self.workdir / "logs" / "samba.stdout"

    # -- provisioning -----------------------------------------------------------------------
    def provision(self) -> None:
        """Create a fresh domain in ``workdir``, from the cached snapshot when one exists."""
        reason = samba_unavailable_reason()
        if reason:
            raise SambaError(reason)
        if self.smb_conf.exists():
            raise SambaError(f"{self.workdir} already holds a provisioned DC; use an empty directory")
        self.workdir.mkdir(parents=True, exist_ok=True)
        if self.use_snapshot and self._snapshot_path.is_file():
            self._restore_snapshot()
            self._restored_from = self._snapshot_path
            return
        self._provision_from_scratch()
        if self.use_snapshot:
            self._save_snapshot()

    @property
    def _snapshot_path(self) -> Path:
        # Keyed by Samba's version too: a database provisioned by another release may not start.
        name = f"samba-{self.realm.lower()}-{_samba_version()}-v{_SNAPSHOT_VERSION}.tar"
        return self.snapshot_dir / name

    def _provision_from_scratch(self) -> None:
        self._samba_tool(
            "domain",
            "provision",
            f"--targetdir={self.workdir}",
            f"--realm={self.realm}",
            f"--domain={self.domain}",
            "--server-role=dc",
            "--dns-backend=SAMBA_INTERNAL",
            f"--adminpass={self._password}",
            "--host-name=dc1",
            "--host-ip=127.0.0.1",
            "--use-rfc2307",
            "--option=interfaces = lo",
            "--option=bind interfaces only = yes",
            conf=False,
        )
        self._write_runtime_config()
        self._samba_tool(
            "domain",
            "passwordsettings",
            "set",
            "--complexity=off",
            "--history-length=0",
            "--min-pwd-age=0",
            "--max-pwd-age=0",
            "--account-lockout-threshold=3",
            "--account-lockout-duration=30",
            "--reset-account-lockout-after=30",
        )
        # A first start generates the TLS key and CA; snapshotting after it makes later starts fast.
        self.start()
        try:
            self.wait_ready()
        finally:
            self.stop()

    def _write_runtime_config(self) -> None:
        """Rewrite [global] so the DC serves LDAP only, on loopback, with every file under workdir."""
        run = self.workdir / "run"
        logs = self.workdir / "logs"
        for directory in (run, logs, self.workdir / "cache"):
            directory.mkdir(parents=True, exist_ok=True)
        ours = {
            "server services": "ldap",
            "dcerpc endpoint servers": "-winreg -srvsvc",
            "pid directory": str(run),
            "ncalrpc dir": str(run / "ncalrpc"),
            "winbindd socket directory": str(run / "winbindd"),
            "ntp signd socket directory": str(run / "ntp_signd"),
            "log file": str(logs / "log.%m"),
            "max log size": "10000",
        }
        # provision copies the host's resolver into "dns forwarder": drop it so nothing leaves the host.
        dropped = {"dns forwarder", *ours}
        lines: list[str] = []
        section = ""
        for line in self.smb_conf.read_text(encoding="utf-8").splitlines():
            stripped = line.strip()
            if stripped.startswith("["):
                section = stripped.lower()
                lines.append(line)
                if section == "[global]":
                    lines.extend(f"\t{key} = {value}" for key, value in ours.items())
                continue
            key = stripped.split("=", 1)[0].strip().lower()
            if section == "[global]" and key in dropped:
                continue
            lines.append(line)
        self.smb_conf.write_text("\n".join(lines) + "\n", encoding="utf-8")

    def _samba_tool(self, *args: str, conf: bool = True) -> None:
        command = [_which("samba-tool") or "samba-tool", *args]
        if conf:
            command += ["-s", str(self.smb_conf)]
        result = subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)
        if result.returncode != 0:
            shown = " ".join(args[:3])
            output = (result.stdout + result.stderr).replace(self._password, "***")
            raise SambaError(f"samba-tool {shown} failed (exit {result.returncode}):\n{output[-3000:]}")

    def _save_snapshot(self) -> None:
        self.snapshot_dir.mkdir(parents=True, exist_ok=True)
        (self.workdir / _PASSWORD_FILE).write_text(self._password, encoding="utf-8")
        (self.workdir / _PASSWORD_FILE).chmod(0o600)
        partial = self._snapshot_path.with_suffix(f".tmp{os.getpid()}")
        with tarfile.open(partial, "w") as archive:
            for child in sorted(self.workdir.iterdir()):
                if child.name not in _NOT_SNAPSHOTTED:
                    archive.add(child, arcname=child.name)
        partial.chmod(0o600)  # it holds a (test-only) admin password and the DC's keys
        partial.replace(self._snapshot_path)  # atomic: a concurrent reader never sees half a tar

    def _restore_snapshot(self) -> None:
        with tarfile.open(self._snapshot_path) as archive:
            archive.extractall(self.workdir, filter="tar")
        old_dir = self._original_workdir()
        conf = self.smb_conf.read_text(encoding="utf-8").replace(old_dir, str(self.workdir))
        self.smb_conf.write_text(conf, encoding="utf-8")
        for directory in ("run", "logs", "cache"):
            (self.workdir / directory).mkdir(exist_ok=True)
        snapshot_password = (self.workdir / _PASSWORD_FILE).read_text(encoding="utf-8")
        if not self._password_given:
            self._password = snapshot_password
        elif self._password != snapshot_password:
            self._samba_tool("user", "setpassword", "Administrator", f"--newpassword={self._password}")

    def _original_workdir(self) -> str:
        for line in self.smb_conf.read_text(encoding="utf-8").splitlines():
            key, _, value = line.partition("=")
            if key.strip().lower() == "private dir":
                return str(Path(value.strip()).parent)
        raise SambaError(f"{self._snapshot_path}: snapshot has no 'private dir' in smb.conf; delete it")

    # -- running ------------------------------------------------------------------------------
    def start(self) -> None:
        """Start ``samba -F`` in the foreground as our child; refuse when 636 is taken."""
        if self._process is not None and self._process.poll() is None:
            return
        if not self.smb_conf.exists():
            raise SambaError(f"{self.workdir} is not provisioned; call provision() first")
        if port_in_use(LDAPS_PORT):
            raise SambaError(
                f"port {LDAPS_PORT} on 127.0.0.1 is already in use by another process "
                f"(another Samba DC? see `ss -ltnp 'sport = :{LDAPS_PORT}'`); stop it first"
            )
        (self.workdir / "logs").mkdir(exist_ok=True)
        (self.workdir / "run").mkdir(exist_ok=True)
        stdout = self.log_file.open("ab")
        command = [
            _which("samba") or "samba",
            "-F",
            "--no-process-group",
            "-M",
            "single",
            "-s",
            str(self.smb_conf),
            "--debug-stdout",
            "-d",
            "1",
        ]
        try:
            self._process = subprocess.Popen(
                command,
                stdout=stdout,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                preexec_fn=_terminate_with_parent,
            )
        finally:
            stdout.close()  # the child holds its own descriptor

    def wait_ready(self, timeout: float = 60) -> None:
        """Block until an LDAPS simple bind as Administrator succeeds; a listening port is not enough."""
        deadline = time.monotonic() + timeout
        last_error = "no attempt made"
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                raise SambaError(
                    f"samba exited with code {self._process.returncode} before being ready; "
                    f"last lines of {self.log_file}:\n{self._log_tail()}"
                )
            try:
                self._admin_bind_once()
                return
            except LDAPException as exc:
                last_error = f"{type(exc).__name__}: {exc}"
            time.sleep(0.2)
        raise SambaError(
            f"Samba DC not ready after {timeout:.0f} s (last error: {last_error}); "
            f"last lines of {self.log_file}:\n{self._log_tail()}"
        )

    def _admin_bind_once(self) -> None:
        tls = ldap3.Tls(validate=ssl.CERT_NONE)
        server = ldap3.Server(
            "127.0.0.1", port=LDAPS_PORT, use_ssl=True, tls=tls, get_info=ldap3.NONE, connect_timeout=2
        )
        connection = ldap3.Connection(
            server, user=self.bind_dn, password=self._password, raise_exceptions=True, receive_timeout=5
        )
        try:
            connection.bind()
        finally:
            connection.unbind()

    def _log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_file.read_text(encoding="utf-8", errors="replace")
        except OSError:
            text = "(no log)"
        tail = "\n".join(text.splitlines()[-lines:])
        if self._restored_from is not None:
            tail += f"\n(this DC was restored from {self._restored_from}; delete it to provision afresh)"
        return tail

    def stop(self) -> None:
        """SIGTERM the DC, SIGKILL it after 10 s; safe to call twice."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)

    def __enter__(self) -> SambaDC:
        if not self.smb_conf.exists():
            self.provision()
        self.start()
        try:
            self.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
