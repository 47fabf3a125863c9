"""YAML playbooks: what the bot does for an intent, written by operators, run step by step."""

from automations.playbooks.runner import HandOver, PlaybookRun, run_playbook
from automations.playbooks.spec import Playbook, PlaybookError, load_playbooks

__all__ = ["HandOver", "Playbook", "PlaybookError", "PlaybookRun", "load_playbooks", "run_playbook"]
