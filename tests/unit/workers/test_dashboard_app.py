"""The dashboard application over HTTP (Starlette's test client): pages, JSON, ticket lists, /metrics, local sign-in."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import update
from starlette.testclient import TestClient

from automations.ledger import Ledger, Outcome, RequestRow
from automations.request import Request
from workers.cli import main
from workers.config import ConfigError
from workers.dashboard.app import create_app
from workers.dashboard.auth import SignInError, check_exposure, hash_password, verify_password
from workers.dashboard.settings import load_dashboard_config

SN = "https://agence.service-now.com"
# A fixed clock (noon in Paris), so the test never straddles midnight.
NOW = datetime(2026, 3, 31, 10, 0, tzinfo=UTC)


def seed(ledger: Ledger) -> None:
    """On NOW's day: 4 requests, 2 automated, 1 handed over, 1 waiting for 2 hours."""
    now = NOW.replace(tzinfo=None)
    rows = [("a1", "automated", None, "INC0010001"), ("a2", "automated", None, "INC0010002"),
            ("h1", "handed_over", "LOW_CONFIDENCE", "INC0010003"), ("w1", None, None, None)]
    for key, decision, reason, number in rows:
        ledger.register(Request(key=key, channel="email", sender_address="agent@ml.fr", sender_name="Agent",
                                subject="Compte bloqué", text="", headers=()))
        if decision:
            ledger.finish(key, Outcome(decision=decision, reason=reason, intent="unlock", ticket_number=number,
                                       ticket_sys_id=f"sys{number}"))
        with ledger.engine.begin() as connection:
            connection.execute(update(RequestRow).where(RequestRow.key == key)
                               .values(created_at=now - timedelta(hours=2 if key == "w1" else 1)))


def write_config(tmp_path: Path, dashboard: str = "", servicenow: bool = True) -> Path:
    config = tmp_path / "sesame.yaml"
    text = f"ledger_url: sqlite:///{tmp_path / 'ledger.db'}\ncontract:\n  anniversary: 2025-01-01\n"
    if servicenow:
        text += f"servicenow:\n  url: {SN}\n"
    if dashboard:
        text += "dashboard:\n" + "".join(f"  {line}\n" for line in dashboard.strip().splitlines())
    config.write_text(text, encoding="utf-8")
    return config


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    seed(Ledger(f"sqlite:///{tmp_path / 'ledger.db'}"))
    config = load_dashboard_config(write_config(tmp_path, "metrics_token: scrape-me"), environ={})
    return TestClient(create_app(config, cache_seconds=0, clock=lambda: NOW))


def test_page_shows_the_ledger_figures_with_links_to_their_tickets(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    html = page.text
    assert '<html lang="fr">' in html and 'href="#contenu"' in html and "<main id=\"contenu\"" in html
    assert re.search(r'data-testid="latest-rate">50\u00a0%<', html)
    assert re.search(r'data-testid="queue-count">1<', html)
    assert 'href="/tickets/reason/LOW_CONFIDENCE"' in html
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert "<script>" not in html and "style=" not in html  # nothing inline: the CSP forbids it


def test_api_figures_gives_every_value_of_the_page(client: TestClient) -> None:
    data = client.get("/api/figures").json()
    today = next(p for p in data["points"] if p["total"] == 4)
    assert today["automated"] == 2 and today["rate"] == 50.0  # 2 of 4 today (w1 waiting counts in the total)
    values = data["values"]
    assert values["queue.count"] == "1" and values["reason/LOW_CONFIDENCE.count"] == "1"
    assert values[f"{today['figure']}.rate"] == "50\u00a0%"
    assert client.get("/", params={"periode": "week"}).status_code == 200


def test_ticket_list_links_to_the_servicenow_instance(client: TestClient) -> None:
    page = client.get("/tickets/reason/LOW_CONFIDENCE")
    assert page.status_code == 200
    assert f'href="{SN}/nav_to.do?uri=task.do%3Fsys_id%3DsysINC0010003"' in page.text
    assert "INC0010001" not in page.text
    assert client.get("/tickets/reason/NOPE").status_code == 404
    queue = client.get("/tickets/queue").text
    assert "<code>w1</code>" in queue and "En attente" in queue


def test_metrics_need_the_token_and_carry_the_figures(client: TestClient) -> None:
    assert client.get("/metrics").status_code == 401
    text = client.get("/metrics", headers={"Authorization": "Bearer scrape-me"}).text
    assert 'sesame_period_requests{outcome="automated",period="day"} 2.0' in text
    assert 'sesame_handovers_by_reason{reason="LOW_CONFIDENCE"} 1.0' in text
    assert "sesame_queue_requests 1.0" in text
    assert re.search(r'sesame_automated_rate_percent\{period="day"\} 50\.0', text)


def test_open_dashboard_only_on_loopback(tmp_path: Path) -> None:
    config = load_dashboard_config(write_config(tmp_path), environ={})
    check_exposure(config, "127.0.0.1")
    check_exposure(config, "::1")
    with pytest.raises(SignInError, match="without sign-in"):
        check_exposure(config, "0.0.0.0")
    result = CliRunner().invoke(main, ["dashboard", "--config", str(write_config(tmp_path)), "--host", "10.1.2.3"])
    assert result.exit_code == 1 and "refusing to listen on 10.1.2.3 without sign-in" in result.output


def test_oidc_settings_must_be_complete(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="oidc_issuer, oidc_client_id and oidc_client_secret together"):
        load_dashboard_config(write_config(tmp_path, "oidc_issuer: https://login.example/t/v2.0"), environ={})
    text = "oidc_issuer: https://login.example/t/v2.0\noidc_client_id: c\n"
    with pytest.raises(ConfigError, match="oidc_allowed_groups is empty"):
        load_dashboard_config(write_config(tmp_path, text), environ={"SESAME_DASHBOARD_OIDC_CLIENT_SECRET": "s"})
    with pytest.raises(ConfigError, match="https URL"):
        load_dashboard_config(write_config(tmp_path, text.replace("https://", "http://") + "oidc_allowed_groups: [g]"),
                              environ={"SESAME_DASHBOARD_OIDC_CLIENT_SECRET": "s"})


def test_local_accounts_sign_in(tmp_path: Path) -> None:
    seed(Ledger(f"sqlite:///{tmp_path / 'ledger.db'}"))
    stored = hash_password("correct horse")
    assert verify_password("correct horse", stored) and not verify_password("wrong", stored)
    (tmp_path / "accounts").write_text(f"# managers\nmanon:{stored}\n", encoding="utf-8")
    config = load_dashboard_config(write_config(tmp_path, "local_accounts: true\nlocal_accounts_file: accounts"),
                                   environ={})
    check_exposure(config, "0.0.0.0")  # sign-in is on: any address is allowed
    client = TestClient(create_app(config, cache_seconds=0, clock=lambda: NOW))
    first = client.get("/tickets/queue", follow_redirects=False)
    assert first.status_code == 303 and first.headers["location"] == "/signin?next=%2Ftickets%2Fqueue"
    assert client.get("/api/figures").status_code == 401
    form = client.get("/signin?next=/tickets/queue").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', form)
    assert csrf is not None
    forged = client.post("/signin", data={"csrf": "forged", "user": "manon", "password": "correct horse"})
    assert forged.status_code == 400
    bad = client.post("/signin", data={"csrf": csrf.group(1), "user": "manon", "password": "nope", "next": "/"})
    assert bad.status_code == 401 and "incorrect" in bad.text
    good = client.post("/signin", data={"csrf": csrf.group(1), "user": "manon", "password": "correct horse",
                                        "next": "/tickets/queue"}, follow_redirects=False)
    assert good.status_code == 303 and good.headers["location"] == "/tickets/queue"
    page = client.get("/tickets/queue")
    assert page.status_code == 200 and "Connecté : manon" in page.text
    client.get("/signout")
    assert client.get("/", follow_redirects=False).status_code == 303


def test_hash_password_command_prints_a_usable_line() -> None:
    result = CliRunner().invoke(main, ["dashboard", "hash-password", "--user", "manon"],
                                input="s3cret-pass\ns3cret-pass\n")
    assert result.exit_code == 0, result.output
    line = result.output.strip().splitlines()[-1]
    user, _, stored = line.partition(":")
    assert user == "manon" and verify_password("s3cret-pass", stored) and "s3cret-pass" not in line


def test_grafana_dashboard_uses_only_metrics_the_dashboard_serves(client: TestClient) -> None:
    served = set(re.findall(r"^(sesame_[a-z_]+)", client.get("/metrics", headers={"Authorization":
                                                                                    "Bearer scrape-me"}).text,
                            re.MULTILINE))
    grafana = json.loads((Path(__file__).parents[3] / "ops" / "grafana" / "sesame.json").read_text(encoding="utf-8"))
    used = {name for panel in grafana["panels"] for target in panel["targets"]
            for name in re.findall(r"sesame_[a-z_]+", target["expr"])}
    assert len(used) >= 8 and used <= served, used - served


def test_a_missing_ledger_is_a_clear_error_and_no_empty_file(tmp_path: Path) -> None:
    config = write_config(tmp_path)  # its ledger_url points to tmp_path/ledger.db, which nobody created
    result = CliRunner().invoke(main, ["dashboard", "--config", str(config), "--port", "0"])
    assert result.exit_code == 1 and "ledger_url: no ledger at" in result.output
    assert not (tmp_path / "ledger.db").exists()


def test_open_dashboard_has_no_session_to_end(client: TestClient) -> None:
    answer = client.get("/signout", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/"
    assert client.get("/signin", follow_redirects=False).headers["location"] == "/"
