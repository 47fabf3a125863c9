"""An OpenAI-compatible chat completions emulator for the ``llm`` understanding backend (tests, demo).

Deterministic keyword answers; a switch makes it return malformed output, off-schema JSON, the answer
of a prompt-injected model, or reply slowly.
"""

from sandbox.llm.app import MODEL_ID, LlmSwitch, Mode, build_llm_app

__all__ = ["MODEL_ID", "LlmSwitch", "Mode", "build_llm_app"]
