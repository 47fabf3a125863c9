"""Playbooks reloaded when their files change, without restarting workers; a broken file never replaces a good set.

``current()`` is called at the start of every request: it compares the size and modification time (ns) of
every playbook and template file with the last load (a few ``stat`` calls) and reloads only on a change. When
the new files do not load, the error is logged once per change, kept in ``error`` (and ``sesame doctor``, which
validates the files on disk, reports it too) and the previous good set keeps running.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import structlog

from automations.playbooks.spec import Playbook, PlaybookError

log = structlog.get_logger(__name__)

Fingerprint = tuple[tuple[str, int, int], ...]


def fingerprint(directory: Path) -> Fingerprint:
    """(path, size, mtime in ns) of every file a playbook set is made of: the YAML files and the templates."""
    files = [*directory.glob("*.yaml"), *directory.glob("*.yml")]
    templates = directory / "templates"
    if templates.is_dir():
        files += [p for p in templates.rglob("*") if p.is_file()]
    found = []
    for path in sorted(files):
        try:
            stat = path.stat()
        except FileNotFoundError:  # removed between the listing and the stat: the next request sees it
            continue
        found.append((str(path), stat.st_size, stat.st_mtime_ns))
    return tuple(found)


class PlaybookLibrary:
    """The loaded playbooks of ``directory`` by intent; ``loader`` raises ``PlaybookError`` on a broken set."""

    def __init__(self, directory: Path, loader: Callable[[], dict[str, Playbook]]) -> None:
        self.directory, self._loader = directory, loader
        self._lock = threading.Lock()
        self._fingerprint = fingerprint(directory)
        self.playbooks = loader()  # at start a broken set is an error: the fleet does not start without one
        self.error: str | None = None
        self.loaded_at = datetime.now(UTC)

    def labels(self) -> list[str]:
        """``id@version#hash`` of every playbook running now."""
        return sorted({p.label for p in self.playbooks.values()})

    def current(self) -> dict[str, Playbook]:
        """The playbooks to use for the next request, reloaded first when a file changed."""
        seen = fingerprint(self.directory)
        if seen == self._fingerprint:
            return self.playbooks
        with self._lock:
            if seen != self._fingerprint:
                self._reload(seen)
            return self.playbooks

    def _reload(self, seen: Fingerprint) -> None:
        before = self.labels()
        # Remembered even when the load fails: a broken file is reported once, and retried when it changes again.
        self._fingerprint = seen
        try:
            loaded = self._loader()
        except Exception as error:  # PlaybookError, an unreadable file, or any new kind of mistake in one
            self.error = str(error) if isinstance(error, PlaybookError) else f"{type(error).__name__}: {error}"
            log.error("playbooks.reload_failed", directory=str(self.directory), error=self.error, keeping=before)
            return
        self.playbooks, self.error, self.loaded_at = loaded, None, datetime.now(UTC)
        log.info("playbooks.reloaded", directory=str(self.directory), before=before, now=self.labels())
