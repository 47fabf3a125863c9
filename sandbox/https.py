"""Serve an emulator over HTTPS on loopback from a background thread (sandbox, tests, rehearsals)."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path
from types import TracebackType

import uvicorn
from starlette.types import ASGIApp

LOOPBACK = "127.0.0.1"


class EmulatorStartError(RuntimeError):
    """The HTTPS server did not come up in time; the message says where it tried to listen."""


class BackgroundServer:
    """A uvicorn server on ``127.0.0.1`` (a free port unless one is given), stopped on exit of the ``with``."""

    def __init__(
        self, app: ASGIApp, *, certfile: str | Path, keyfile: str | Path, port: int = 0, start_timeout: float = 10.0
    ) -> None:
        # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only then, else each response waits ~40 ms on delayed ACKs.
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((LOOPBACK, port))
        self.port: int = self._socket.getsockname()[1]
        config = uvicorn.Config(
            app, ssl_certfile=str(certfile), ssl_keyfile=str(keyfile), log_level="warning", lifespan="off"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True)
        self._start_timeout = start_timeout

    @property
    def url(self) -> str:
        """The origin clients use, e.g. ``https://127.0.0.1:8443``."""
        return f"https://{LOOPBACK}:{self.port}"

    def start(self) -> None:
        """Start serving and wait until the socket accepts requests."""
        self._thread.start()
        deadline = time.monotonic() + self._start_timeout
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise EmulatorStartError(f"the emulator did not start on {self.url}")
            time.sleep(0.01)

    def stop(self) -> None:
        """Ask uvicorn to finish, then force it if a client still holds a keep-alive TLS connection."""
        self._server.should_exit = True
        self._thread.join(timeout=0.5)
        if self._thread.is_alive():
            # A TLS connection whose client never closes it would hold graceful shutdown forever.
            self._server.force_exit = True
            self._thread.join(timeout=self._start_timeout)
        self._socket.close()

    def __enter__(self) -> BackgroundServer:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()
