"""Render reply and note templates in a sandbox: values come from the directory and the ticket, never the e-mail."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import FileSystemLoader, StrictUndefined
from jinja2.sandbox import ImmutableSandboxedEnvironment


class Templates:
    """The operators' templates (``playbooks/templates``); a missing value is an error, not an empty string."""

    def __init__(self, playbooks_dir: Path) -> None:
        self._env = ImmutableSandboxedEnvironment(
            loader=FileSystemLoader(playbooks_dir / "templates"),
            undefined=StrictUndefined,
            autoescape=False,
            keep_trailing_newline=False,
        )

    def render_file(self, name: str, **values: Any) -> str:
        """Render the template file ``name``."""
        return self._env.get_template(name).render(**values).strip() + "\n"

    def render_text(self, source: str, **values: Any) -> str:
        """Render a template written inline in a playbook."""
        return self._env.from_string(source).render(**values).strip()
