"""The JSON Schema of the playbook format, generated from the pydantic models and committed as
``playbooks/playbook.schema.json`` so that editors validate and complete playbooks as they are typed
(``# yaml-language-server: $schema=playbook.schema.json`` at the top of a playbook).

Regenerate after changing ``spec.py``: ``python -m automations.playbooks.schema > playbooks/playbook.schema.json``
(a test fails while the committed file differs from the generated one).
"""

from __future__ import annotations

import json
from typing import Any

from automations.playbooks.catalog import CATALOG
from automations.playbooks.spec import Playbook


def playbook_schema() -> dict[str, Any]:
    """The schema of one playbook file; action names are offered as completions (any other is still reported
    by ``sesame playbook validate`` with a "did you mean")."""
    schema = Playbook.model_json_schema(by_alias=True)
    schema["properties"].pop("content_hash", None)  # computed when loaded, never written
    actions = sorted(CATALOG)
    checks = sorted(name for name, spec in CATALOG.items() if spec.kind == "check")
    definitions = schema["$defs"]
    definitions["Step"]["properties"]["action"]["examples"] = actions
    definitions["Compensation"]["properties"]["action"]["examples"] = actions
    definitions["Guard"]["properties"]["check"]["examples"] = checks
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": "playbook.schema.json", **schema}


def schema_text() -> str:
    """The committed file's exact text."""
    return json.dumps(playbook_schema(), ensure_ascii=False, indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    print(schema_text(), end="")
