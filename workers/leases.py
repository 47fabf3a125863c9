"""Which worker handles a request: a lease in the ledger, so a request whose worker died is resumed, once.

A worker takes the lease before handling a request and extends it after every journaled step. Another worker
may take it over when it expired or when its holder is a process of this host that no longer exists (a killed
``sesame run``), which makes a restart on the same host resume at once. The pollers queue such requests again.
"""

from __future__ import annotations

import os
import secrets
import socket
import threading
from collections.abc import Callable
from datetime import timedelta

from automations.ledger import Ledger

# Long enough for any run (every journaled step extends it); a worker on another host that died is taken
# over after this delay.
LEASE = timedelta(seconds=300)
_nonce = secrets.token_hex(4)


def _new_nonce() -> None:
    global _nonce
    _nonce = secrets.token_hex(4)


# A forked pool process is another holder than its parent.
os.register_at_fork(after_in_child=_new_nonce)


def worker_id() -> str:
    """This process as a lease's holder: host, pid and a nonce (a pid reused later is another holder)."""
    return f"{socket.gethostname()}:{os.getpid()}:{_nonce}"


_task = threading.local()


def begin_task() -> str:
    """A holder for one handling of one request (threads of a process never share a lease)."""
    _task.owner = f"{worker_id()}:{secrets.token_hex(3)}"
    return str(_task.owner)


def current_holder() -> str | None:
    """The holder of the task this thread runs, if any."""
    return getattr(_task, "owner", None)


def holder_is_gone(holder: str) -> bool:
    """True when ``holder`` was a process of this host that no longer runs (never guessed for another host)."""
    host, _, rest = holder.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # it exists, under another user
        return False
    return False


def renew_lease(ledger: Ledger) -> Callable[[str], None]:
    """What the step journal calls after each step: extend this worker's lease on the request."""

    def renew(key: str) -> None:
        holder = current_holder()
        if holder is not None:
            ledger.renew(key, holder, LEASE)

    return renew
