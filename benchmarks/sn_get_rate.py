"""Simple GETs per second the ServiceNow emulator serves on one core (a benchmark, not a test).

Starts the emulator (seeded with ``--incidents`` incidents, request log and fault middlewares in place as the
sandbox serves it) over HTTPS on 127.0.0.1 in a child process pinned to one core, then drives it from this
process over one keep-alive connection: first real pysnc ``GlideRecord.get(sys_id)``, then raw
``requests.Session`` GETs of the same URL. Prints GET/s and p50/p95 latency for each.

    .venv/bin/python -m benchmarks.sn_get_rate --seconds 5
    .venv/bin/python -m benchmarks.sn_get_rate --seconds 5 --latency-ms 20   # any fault flag is passed on
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "sandbox" / "scenarios" / "demo"
USER, PASSWORD = "bench.bot", "bench-only-password"
SAMPLE_IDS = 200  # sys_ids handed to the driver; GETs pick among them at random


class BenchmarkError(RuntimeError):
    """The emulator child did not start; the message carries its output."""


# -- the emulator child ---------------------------------------------------------------------------


def serve(state: Path, incidents: int, core: int, fault_args: Sequence[str]) -> None:
    """Child: pin to ``core``, seed, serve over HTTPS, print one JSON line, run until SIGTERM."""
    os.sched_setaffinity(0, {core})
    from sandbox.https import BackgroundServer
    from sandbox.scenario import load_scenario
    from sandbox.servicenow import TableStore, build_app, seed_store
    from sandbox.servicenow.faults import FaultMiddleware, FaultPlan
    from sandbox.servicenow.request_log import RequestLog, RequestLogMiddleware
    from sandbox.tls import ensure_ca

    tls = ensure_ca(state)
    store = TableStore()
    seed_store(store, load_scenario(DEMO), bot_user=USER)
    caller = store.user_by_name("pgarnier")
    sys_ids = [
        store.insert(
            "incident",
            {"short_description": f"bench {n}", "caller_id": caller["sys_id"] if caller else "", "urgency": "2"},
            user=USER,
        )["sys_id"]
        for n in range(incidents)
    ]
    app = RequestLogMiddleware(
        FaultMiddleware(build_app(store, users={USER: PASSWORD}), FaultPlan.parse(fault_args)), RequestLog()
    )
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    with BackgroundServer(app, certfile=tls.cert_file, keyfile=tls.key_file) as server:
        sample = random.Random(0).sample(sys_ids, min(SAMPLE_IDS, len(sys_ids)))
        print(json.dumps({"url": server.url, "ca_file": str(tls.ca_file), "sys_ids": sample}), flush=True)
        stopping.wait()


# -- the driver -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Figures:
    """One driver's result, with how busy the emulator's core was meanwhile."""

    name: str
    requests: int
    seconds: float
    latencies_ms: list[float]
    server_cpu_seconds: float

    @property
    def server_busy(self) -> float:
        """Fraction of its core the emulator used (1.0: the emulator was the bottleneck)."""
        return self.server_cpu_seconds / self.seconds

    @property
    def rate(self) -> float:
        """GETs per second."""
        return self.requests / self.seconds

    def percentile(self, fraction: float) -> float:
        """Latency (ms) below which ``fraction`` of the GETs finished."""
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]

    def line(self) -> str:
        """One printable line."""
        return (
            f"{self.name:<28} {self.rate:8.1f} GET/s   p50 {self.percentile(0.5):6.2f} ms   "
            f"p95 {self.percentile(0.95):6.2f} ms   emulator core busy {self.server_busy:4.0%}   "
            f"({self.requests} GETs in {self.seconds:.1f} s)"
        )


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def drive(name: str, get_one: Callable[[str], None], sys_ids: list[str], seconds: float, server_pid: int) -> Figures:
    """Call ``get_one`` back to back for ``seconds`` (after a short warm-up) and time each call."""
    chooser = random.Random(1)
    warm_until = time.perf_counter() + min(0.5, seconds / 4)
    while time.perf_counter() < warm_until:
        get_one(chooser.choice(sys_ids))
    latencies: list[float] = []
    cpu_before = cpu_seconds(server_pid)
    started = time.perf_counter()
    deadline = started + seconds
    while (now := time.perf_counter()) < deadline:
        get_one(chooser.choice(sys_ids))
        latencies.append((time.perf_counter() - now) * 1000)
    elapsed = time.perf_counter() - started
    return Figures(name, len(latencies), elapsed, latencies, cpu_seconds(server_pid) - cpu_before)


def run(seconds: float, incidents: int, server_core: int, fault_args: Sequence[str]) -> list[Figures]:
    """Start the child, run both drivers against it, stop it."""
    import pysnc
    import requests

    # requests lets these override verify= (see the ServiceNow note, §1): the emulator's CA must win.
    env = {k: v for k, v in os.environ.items() if k not in {"REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"}}
    os.environ.pop("REQUESTS_CA_BUNDLE", None)
    os.environ.pop("CURL_CA_BUNDLE", None)
    os.environ["NO_PROXY"] = "127.0.0.1,localhost"
    others = os.sched_getaffinity(0) - {server_core}
    if others:
        os.sched_setaffinity(0, others)  # keep the driver off the emulator's core
    with tempfile.TemporaryDirectory(prefix="sn-bench-") as state:
        command = [sys.executable, "-m", "benchmarks.sn_get_rate", "--serve", "--state", state,
                   "--incidents", str(incidents), "--server-core", str(server_core), *fault_args]  # fmt: skip
        child = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            line = child.stdout.readline() if child.stdout else ""
            if not line:
                raise BenchmarkError(f"the emulator did not start: {child.stderr.read() if child.stderr else ''}")
            info = json.loads(line)
            sys_ids: list[str] = info["sys_ids"]
            client = pysnc.ServiceNowClient(info["url"], (USER, PASSWORD), verify=info["ca_file"])

            def pysnc_get(sys_id: str) -> None:
                if not client.GlideRecord("incident").get(sys_id):
                    raise BenchmarkError(f"pysnc did not find incident {sys_id}")

            session = requests.Session()
            session.auth, session.verify = (USER, PASSWORD), info["ca_file"]
            session.headers["Accept"] = "application/json"
            params = {"sysparm_display_value": "all", "sysparm_exclude_reference_link": "true"}

            def raw_get(sys_id: str) -> None:
                response = session.get(f"{info['url']}/api/now/table/incident/{sys_id}", params=params)
                if response.status_code != 200:
                    raise BenchmarkError(f"GET incident {sys_id}: {response.status_code} {response.text[:200]}")

            figures = [
                drive("pysnc GlideRecord.get", pysnc_get, sys_ids, seconds, child.pid),
                drive("requests.Session GET", raw_get, sys_ids, seconds, child.pid),
            ]
            client.session.close()
            session.close()
            return figures
        finally:
            child.send_signal(signal.SIGTERM)
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the flags, run the benchmark (or serve, in the child) and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5.0, help="measured seconds per driver (default 5)")
    parser.add_argument("--incidents", type=int, default=1000, help="incidents seeded (default 1000)")
    parser.add_argument("--server-core", type=int, default=None, help="core of the emulator (default: the last)")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--state", type=Path, help=argparse.SUPPRESS)
    options, fault_args = parser.parse_known_args(argv)
    core = options.server_core if options.server_core is not None else max(os.sched_getaffinity(0))
    if options.serve:
        serve(options.state, options.incidents, core, fault_args)
        return 0
    from sandbox.servicenow.faults import FaultPlan, FaultPlanError

    try:
        plan = FaultPlan.parse(fault_args)  # refuse bad flags here, before starting anything
    except FaultPlanError as error:
        parser.error(str(error))
    figures = run(options.seconds, options.incidents, core, fault_args)
    print(f"ServiceNow emulator, 1 core (#{core}), {options.incidents} incidents, HTTPS keep-alive, "
          f"faults {'on: ' + json.dumps(plan.to_json()) if plan.enabled else 'off'}")  # fmt: skip
    for figure in figures:
        print(figure.line())
    print(json.dumps({f.name: {"get_per_s": round(f.rate, 1), "p50_ms": round(f.percentile(0.5), 2),
                               "p95_ms": round(f.percentile(0.95), 2), "emulator_busy": round(f.server_busy, 2)}
                      for f in figures}))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
