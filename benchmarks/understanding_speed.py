"""Milliseconds per message of each understanding backend, on one core, over a labelled split (default: dev).

    .venv/bin/python -m benchmarks.understanding_speed [--corpus corpus/dev.jsonl] [--core 0] [--repeat 3]

The process is pinned to one core with ``os.sched_setaffinity`` so the figure does not depend on the machine's
other cores. Each backend is built once (loading a model is not counted), warmed on the first message, then timed
over every message ``--repeat`` times; the median run is printed with p95 per message. The default backend (the
``understander`` default of ``workers/config.py``) must stay under 20 ms per message.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

from automations.understanding import UnknownUnderstanderError, get_understander
from workers.config import Settings

BACKENDS = ("rules", "model", "rules+model")
BUDGET_MS = 20.0
DEFAULT_BACKEND = str(Settings.model_fields["understander"].default)


def _messages(corpus: Path) -> list[tuple[str, str, str | None]]:
    rows = [json.loads(line) for line in corpus.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [(row.get("subject") or "", row.get("body") or "", row.get("from")) for row in rows]


def _time_backend(name: str, messages: list[tuple[str, str, str | None]], repeat: int) -> tuple[float, float] | None:
    try:
        backend = get_understander(name)
    except (UnknownUnderstanderError, ImportError, OSError, ValueError) as error:
        print(f"{name:<12} unavailable: {type(error).__name__}: {error}")
        return None
    subject, body, sender = messages[0]
    backend.understand(subject, body, sender=sender)
    runs: list[float] = []
    per_message: list[float] = []
    for _ in range(repeat):
        started = time.perf_counter()
        for subject, body, sender in messages:
            one = time.perf_counter()
            backend.understand(subject, body, sender=sender)
            per_message.append((time.perf_counter() - one) * 1000)
        runs.append((time.perf_counter() - started) * 1000 / len(messages))
    p95 = statistics.quantiles(per_message, n=20)[-1] if len(per_message) >= 20 else max(per_message)
    return statistics.median(runs), p95


def main() -> None:
    """Print ms per message for each backend."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=Path("corpus/dev.jsonl"))
    parser.add_argument("--core", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--backend", action="append", help="backend name (repeatable); default: all built-in")
    args = parser.parse_args()
    os.sched_setaffinity(0, {args.core})
    messages = _messages(args.corpus)
    print(f"{len(messages)} messages from {args.corpus}, pinned to core {args.core}, median of {args.repeat} runs")
    for name in args.backend or BACKENDS:
        timing = _time_backend(name, messages, args.repeat)
        if timing is None:
            continue
        mean, p95 = timing
        verdict = ""
        if name == DEFAULT_BACKEND:
            verdict = "  OK (< 20 ms)" if mean < BUDGET_MS else "  OVER BUDGET (>= 20 ms)"
        print(f"{name:<12} {mean:7.2f} ms/message  p95 {p95:7.2f} ms{verdict}")


if __name__ == "__main__":
    main()
