"""`sesame dashboard` in a real headless browser: Debian's chromium driven by Playwright.

A ledger (SQLite, the real Ledger API) is seeded with known requests; `sesame dashboard` serves it on a free
loopback port; the test reads the page as a manager would and checks that: it loads; its figures equal the
ledger's, computed here independently from the seeded rows; it works with the keyboard alone (Tab reaches every
link and control in document order, focus is visible, Enter on a figure opens its tickets); it refreshes by
itself; and axe-core reports no serious or critical accessibility violation.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from sqlalchemy import update

from automations.ledger import Ledger, Outcome, RequestRow
from automations.request import Request
from tests.fixtures.services import free_port

pytestmark = pytest.mark.integration

CHROMIUM = Path("/usr/bin/chromium")
# The flags this machine's closed network needs (docs: .library machines/python-svc.md); Playwright adds
# --headless and a fresh, empty profile directory itself.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PARIS = ZoneInfo("Europe/Paris")
SN = "https://agence.service-now.com"
NBSP = "\u00a0"


@dataclass(frozen=True)
class Seed:
    key: str
    days_ago: int
    channel: str
    intent: str | None
    decision: str | None  # None: still waiting
    reason: str | None = None

    @property
    def number(self) -> str | None:
        return None if self.decision is None else f"INC{zlib.crc32(self.key.encode()) % 10**7:07d}"


def _seeds() -> list[Seed]:
    seeds = []
    plan = [  # (days ago, automated, handed over with reason, waiting)
        (1, 5, [("LOW_CONFIDENCE", 2)], 0), (2, 3, [("PROTECTED_ACCOUNT", 1), ("LOW_CONFIDENCE", 1)], 0),
        (3, 1, [("OUT_OF_SCOPE", 3)], 1), (5, 4, [], 0), (8, 0, [("LOW_CONFIDENCE", 1)], 2),
    ]
    for days, automated, handed, waiting in plan:
        for i in range(automated):
            seeds.append(Seed(f"<a{days}-{i}@ml.fr>", days, "email" if i % 3 else "servicenow",
                              "unlock" if i % 2 else "reset_password", "automated"))
        for reason, count in handed:
            for i in range(count):
                seeds.append(Seed(f"<h{days}-{reason}-{i}@ml.fr>", days, "email",
                                  "access_request" if reason == "OUT_OF_SCOPE" else "unlock", "handed_over", reason))
        for i in range(waiting):
            seeds.append(Seed(f"<w{days}-{i}@ml.fr>", days, "email", None, None))
    return seeds


SEEDS = _seeds()


def created_at(seed: Seed, today: date) -> datetime:
    """10:00 UTC (11:00 or 12:00 in Paris) ``days_ago`` days before today: well inside its Paris day."""
    return datetime.combine(today - timedelta(days=seed.days_ago), datetime.min.time()) + timedelta(hours=10)


def seed_ledger(url: str, today: date) -> None:
    ledger = Ledger(url)
    for seed in SEEDS:
        ledger.register(Request(key=seed.key, channel=seed.channel, sender_address="agent@ml.fr",
                                sender_name="Agent", subject="Compte", text="", headers=()))
        values: dict[str, object] = {"created_at": created_at(seed, today)}
        if seed.decision is not None:
            ledger.finish(seed.key, Outcome(decision=seed.decision, reason=seed.reason, intent=seed.intent,
                                            ticket_number=seed.number, ticket_sys_id=f"sys{seed.number}"))
            values["finished_at"] = created_at(seed, today) + timedelta(minutes=4)
        # The ledger stamps "now"; the scenario needs its own dates, so only the timestamps are rewritten.
        with ledger.engine.begin() as connection:
            connection.execute(update(RequestRow).where(RequestRow.key == seed.key).values(**values))
    ledger.engine.dispose()


def fr_pct(automated: int, total: int) -> str:
    value = round(100 * automated / total, 1)
    text = f"{value:.1f}".rstrip("0").rstrip(".").replace(".", ",")
    return f"{text}{NBSP}%"


@dataclass
class Dashboard:
    url: str
    ledger_url: str
    today: date


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dashboard]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: the dashboard's browser tests need Debian's chromium "
                    "(run `make test`, which runs ops/install-services.sh, or `apt-get install chromium`)")
    workdir = tmp_path_factory.mktemp("dashboard")
    ledger_url = f"sqlite:///{workdir / 'ledger.db'}"
    today = datetime.now(UTC).date()
    seed_ledger(ledger_url, today)
    config = workdir / "sesame.yaml"
    config.write_text(f"ledger_url: {ledger_url}\nservicenow:\n  url: {SN}\ncontract:\n"
                      f"  anniversary: {today - timedelta(days=100)}\ndashboard:\n  refresh_seconds: 5\n",
                      encoding="utf-8")
    port = free_port()
    sesame = shutil.which("sesame", path=str(Path(sys.executable).parent)) or "sesame"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SESAME_")}
    process = subprocess.Popen([sesame, "dashboard", "--config", str(config), "--port", str(port)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                output = process.stdout.read().decode() if process.stdout else ""
                pytest.fail(f"sesame dashboard did not start: {output}")
            time.sleep(0.2)
        yield Dashboard(url, ledger_url, today)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: run `make test` (ops/install-services.sh installs Debian's chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(locale="fr-FR")
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


def cells(page: Page, selector: str) -> list[list[str]]:
    """The text of each row's header and data cells."""
    rows: list[list[str]] = page.eval_on_selector_all(
        selector, "rows => rows.map(r => Array.from(r.querySelectorAll('th, td')).map(c => c.textContent.trim()))")
    return rows


def test_the_page_shows_the_ledgers_figures(dashboard: Dashboard, page: Page) -> None:
    page.goto(dashboard.url + "/?periode=day")
    assert page.title() == "Tableau de bord — Sésame"
    assert page.locator("h1").inner_text() == "Résolution automatisée des demandes"

    # Rate per Paris day: seeded at 10:00 UTC, each request belongs to the calendar day it was seeded on.
    per_day: dict[str, Counter[str]] = {}
    for seed in SEEDS:
        label = (dashboard.today - timedelta(days=seed.days_ago)).isoformat()
        per_day.setdefault(label, Counter())["total"] += 1
        per_day[label]["automated"] += seed.decision == "automated"
    expected_rows = [[label, str(c["total"]), str(c["automated"]), fr_pct(c["automated"], c["total"])]
                     for label, c in sorted(per_day.items(), reverse=True)]
    assert cells(page, "#rate-table tbody tr") == expected_rows
    latest = max(per_day)
    assert page.get_by_test_id("latest-rate").inner_text() == fr_pct(
        per_day[latest]["automated"], per_day[latest]["total"])

    total, automated = len(SEEDS), sum(s.decision == "automated" for s in SEEDS)
    assert page.get_by_test_id("total-requests").inner_text() == str(total)
    assert page.get_by_test_id("total-automated").inner_text() == str(automated)
    assert page.get_by_test_id("contract-rate").inner_text() == fr_pct(automated, total)
    band = page.get_by_test_id("band").inner_text()
    rate = 100 * automated / total
    assert ("30" in band and "+10" in band) if 30 < rate <= 50 else ("50" in band) if rate > 50 else "aucune" in band

    by_channel = Counter(s.channel for s in SEEDS)
    auto_by_channel = Counter(s.channel for s in SEEDS if s.decision == "automated")
    labels = {"email": "Courriel", "servicenow": "ServiceNow"}
    assert sorted(cells(page, "section[aria-labelledby=h-canal] tbody tr")) == sorted(
        [labels[c], str(n), str(auto_by_channel[c])] for c, n in by_channel.items())
    reasons = Counter(s.reason for s in SEEDS if s.decision == "handed_over")
    assert sorted(cells(page, "section[aria-labelledby=h-motifs] tbody tr")) == sorted(
        [str(r), str(n)] for r, n in reasons.items())
    intents = Counter(s.intent for s in SEEDS)
    assert sum(int(row[1]) for row in cells(page, "section[aria-labelledby=h-intention] tbody tr")) == total
    assert len(cells(page, "section[aria-labelledby=h-intention] tbody tr")) == len(intents)

    waiting = sorted((s for s in SEEDS if s.decision is None), key=lambda s: -s.days_ago)
    assert page.get_by_test_id("queue-count").inner_text() == str(len(waiting))
    assert page.get_by_test_id("oldest-ticket").inner_text() == waiting[0].key


def test_every_figure_opens_the_tickets_behind_it(dashboard: Dashboard, page: Page) -> None:
    page.goto(dashboard.url + "/")
    page.click("a[href='/tickets/reason/LOW_CONFIDENCE']")
    page.wait_for_url("**/tickets/reason/LOW_CONFIDENCE")
    numbers = page.locator("[data-testid=ticket-number]").all_inner_texts()
    assert sorted(numbers) == sorted(str(s.number) for s in SEEDS if s.reason == "LOW_CONFIDENCE")
    first = SEEDS[[s.reason for s in SEEDS].index("LOW_CONFIDENCE")]
    link = page.locator(f"a:text-is('{first.number}')")
    assert link.get_attribute("href") == f"{SN}/nav_to.do?uri=task.do%3Fsys_id%3Dsys{first.number}"


def test_keyboard_only(dashboard: Dashboard, page: Page) -> None:
    page.goto(dashboard.url + "/")
    # Every focusable element in document order, tagged so the Tab walk can be compared with it.
    count = page.evaluate("""() => {
        const all = Array.from(document.querySelectorAll(
            'a[href], button, input:not([type=hidden]), select, textarea, [tabindex]:not([tabindex="-1"])'));
        all.forEach((el, i) => el.setAttribute('data-tab-index', String(i)));
        return all.length; }""")
    assert count > 20
    seen = []
    for _ in range(count):
        page.keyboard.press("Tab")
        state = page.evaluate("""() => { const el = document.activeElement; const s = getComputedStyle(el);
            const r = el.getBoundingClientRect();
            return {index: el.getAttribute('data-tab-index'), outline: s.outlineStyle,
                    width: parseFloat(s.outlineWidth), visible: r.width > 0 && r.height > 0 && r.top >= 0}; }""")
        assert state["outline"] != "none" and state["width"] >= 2, f"focus not visible on element {state}"
        assert state["visible"], f"focused element is off screen: {state}"
        seen.append(state["index"])
    assert seen == [str(i) for i in range(count)]  # every element reached, in document order

    # The skip link comes first and moves to the main content.
    page.goto(dashboard.url + "/")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Aller au contenu principal"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "contenu"

    # Enter on a figure opens its tickets: Tab until the queue count has the focus.
    for _ in range(count):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.getAttribute('href')") == "/tickets/queue":
            break
    else:
        pytest.fail("Tab never reached the queue figure")
    page.keyboard.press("Enter")
    page.wait_for_url("**/tickets/queue")
    rows = page.locator("table.tickets tbody tr").count()
    assert rows == sum(s.decision is None for s in SEEDS)


def test_no_serious_accessibility_violation(dashboard: Dashboard, page: Page) -> None:
    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()
    for path in ("/", "/?periode=week", "/tickets/reason/LOW_CONFIDENCE", "/tickets/queue"):
        page.goto(dashboard.url + path)
        results = axe.run(page)
        bad = [v for v in results.response["violations"] if v.get("impact") in ("serious", "critical")]
        assert not bad, f"{path}: " + "; ".join(
            f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}" for v in bad)


def test_figures_refresh_by_themselves(dashboard: Dashboard, page: Page) -> None:
    page.goto(dashboard.url + "/")
    before = int(page.get_by_test_id("queue-count").inner_text())
    ledger = Ledger(dashboard.ledger_url)
    ledger.register(Request(key="<new@ml.fr>", channel="email", sender_address="agent@ml.fr", sender_name="Agent",
                            subject="Compte", text="", headers=()))
    ledger.engine.dispose()
    # refresh_seconds is 5 and the server caches figures as long: the request shows within ~10 s, no reload.
    expect(page.get_by_test_id("queue-count")).to_have_text(str(before + 1), timeout=20_000)
    assert page.evaluate("performance.getEntriesByType('navigation').length") == 1


def test_local_sign_in_with_the_keyboard(dashboard: Dashboard, browser: Browser,
                                         tmp_path_factory: pytest.TempPathFactory) -> None:
    """A second `sesame dashboard`, with local accounts, on the same ledger: sign in with the keyboard alone."""
    from workers.dashboard.auth import hash_password

    workdir = tmp_path_factory.mktemp("signin")
    (workdir / "accounts").write_text(f"manon:{hash_password('bon mot de passe')}\n", encoding="utf-8")
    config = workdir / "sesame.yaml"
    config.write_text(f"ledger_url: {dashboard.ledger_url}\ndashboard:\n  local_accounts: true\n"
                      "  local_accounts_file: accounts\n", encoding="utf-8")
    port = free_port()
    sesame = shutil.which("sesame", path=str(Path(sys.executable).parent)) or "sesame"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SESAME_")}
    process = subprocess.Popen([sesame, "dashboard", "--config", str(config), "--port", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    context = browser.new_context(locale="fr-FR")
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None and time.monotonic() < deadline, "sesame dashboard did not start"
            time.sleep(0.2)
        page = context.new_page()
        page.goto(url + "/tickets/queue")
        assert "/signin" in page.url and page.locator("h1").inner_text() == "Connexion au tableau de bord"
        from axe_playwright_python.sync_playwright import Axe

        bad = [v["id"] for v in Axe().run(page).response["violations"] if v.get("impact") in ("serious", "critical")]
        assert not bad
        for _ in range(10):  # Tab to the user field (after the skip link and the site link)
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement.id") == "user":
                break
        page.keyboard.type("manon")
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.id") == "password"
        page.keyboard.type("mauvais")
        page.keyboard.press("Enter")
        expect(page.get_by_role("alert")).to_have_text("Identifiant ou mot de passe incorrect.")
        # The name typed is kept; the password field is empty and described by the error.
        assert page.input_value("#user") == "manon" and page.input_value("#password") == ""
        assert page.get_attribute("#password", "aria-describedby") == "signin-error"
        for _ in range(10):
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement.id") == "password":
                break
        page.keyboard.type("bon mot de passe")
        page.keyboard.press("Enter")
        page.wait_for_url("**/tickets/queue")
        ledger = Ledger(dashboard.ledger_url)
        assert page.locator("table.tickets tbody tr").count() == ledger.pending()
        ledger.engine.dispose()
    finally:
        context.close()
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
