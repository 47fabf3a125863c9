"""ServiceNow calls per automated e-mail ticket, counted in the emulator's request log (a benchmark, not a test).

Serves the emulator in this process (request log in place, as the sandbox serves it) over HTTPS on 127.0.0.1 and
runs, for ``--tickets`` tickets, what the automation does with an e-mail ticket through ``ServiceNowTickets``:
``find_by_correlation`` → ``create_incident`` → ``resolve_and_close`` (close code, notes, comment, KB article, tag).
Prints the HTTP calls by method and path for the first ticket (cold caches) and per following ticket.

    .venv/bin/python -m benchmarks.sn_calls_per_ticket --tickets 5
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import tempfile
from collections import Counter
from pathlib import Path

import structlog

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "sandbox" / "scenarios" / "demo"
USER, PASSWORD = "bench.bot", "bench-only-password"
SYS_ID = re.compile(r"/[0-9a-f]{32}\b")


def main(argv: list[str] | None = None) -> None:
    """Run the sequence and print the calls."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=5, help="tickets to run (the first has cold caches)")
    options = parser.parse_args(argv)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))  # figures only

    from connectors.servicenow import ServiceNowTickets
    from connectors.tickets import Closure, NewIncident
    from sandbox.https import BackgroundServer
    from sandbox.scenario import load_scenario
    from sandbox.servicenow import TableStore, build_app, seed_store
    from sandbox.servicenow.request_log import RequestLog, RequestLogMiddleware
    from sandbox.tls import ensure_ca

    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        os.environ.pop(name, None)
    os.environ["NO_PROXY"] = "127.0.0.1,localhost"
    with tempfile.TemporaryDirectory() as state:
        tls = ensure_ca(Path(state))
        store = TableStore()
        seed_store(store, load_scenario(DEMO), bot_user=USER)
        log = RequestLog()
        app = RequestLogMiddleware(build_app(store, users={USER: PASSWORD}), log)
        with BackgroundServer(app, certfile=tls.cert_file, keyfile=tls.key_file) as server:
            tickets = ServiceNowTickets(server.url, USER, PASSWORD, ca_file=str(tls.ca_file))
            closure = Closure("Résolution définitive", "Compte déverrouillé après vérification.", "KB0010001",
                              "UO-TR1.1", "Bonjour, le compte est débloqué.")  # fmt: skip
            per_ticket: list[Counter[str]] = []
            for n in range(options.tickets):
                log.clear()
                correlation = f"<bench-{n}@mission-locale-lyon.fr>"
                if tickets.find_by_correlation(correlation) is None:
                    ref = tickets.create_incident(NewIncident(
                        f"Déblocage du compte n°{n}", "Bonjour, pourriez-vous débloquer le compte ?", "email",
                        "claire.fabre@mission-locale-lyon.fr", "Sésame Automatisation", correlation))  # fmt: skip
                    tickets.resolve_and_close(ref, closure)
                per_ticket.append(Counter(f"{e.method} {SYS_ID.sub('/{sys_id}', e.path)}" for e in log.entries()))
            tickets.close()

    _print("first ticket (cold caches)", per_ticket[0], 1)
    if len(per_ticket) > 1:
        following: Counter[str] = Counter()
        for counts in per_ticket[1:]:
            following.update(counts)
        _print(f"each following ticket (mean of {len(per_ticket) - 1})", following, len(per_ticket) - 1)


def _print(title: str, counts: Counter[str], tickets: int) -> None:
    total = sum(counts.values()) / tickets
    print(f"{title}: {total:g} calls")
    for call, seen in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        print(f"  {seen / tickets:>4g}  {call}")


if __name__ == "__main__":
    main()
