"""The figures as the page and ``/api/figures`` show them: French labels and numbers, links to the tickets."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction
from typing import Any
from urllib.parse import quote

from automations.reporting.bonus import BonusBand
from automations.reporting.figures import (
    REFERENCE_LINES_PCT,
    Bucket,
    Figures,
    RatePoint,
    RequestFact,
    is_uo_tr11,
    paris_time,
    pct_number,
)
from automations.reporting.periods import Granularity

GRANULARITY_LABELS: dict[Granularity, str] = {"day": "Par jour", "week": "Par semaine", "month": "Par mois",
                                              "contract_year": "Par année de contrat"}
CHANNEL_LABELS = {"email": "Courriel", "servicenow": "ServiceNow", "phone": "Téléphone", "form": "Formulaire",
                  "chatbot": "Agent conversationnel", "selfservice": "Libre-service"}
INTENT_LABELS = {
    "unlock": "Déverrouillage de compte", "reset_password": "Réinitialisation de mot de passe",
    "unlock_and_reset": "Déverrouillage et réinitialisation", "mfa": "Authentification multifacteur",
    "mdm_device": "Appareil mobile (Intune)", "access_request": "Demande d'habilitation",
    "app_incident": "Incident applicatif", "hardware": "Matériel", "info_request": "Demande d'information",
    "thanks_or_closure": "Remerciement ou clôture",
}
DECISION_LABELS = {"automated": "Automatisée", "handed_over": "Transférée", "ignored": "Ignorée"}
STATUS_LABELS = {"received": "En attente", "done": "Terminée", "failed": "En échec"}
TICK_GAP = 95  # px between two period labels under the axis
CHART_WIDTH, CHART_HEIGHT, CHART_LEFT, CHART_RIGHT, CHART_TOP, CHART_BOTTOM = 720, 260, 48, 24, 12, 36


def fr_number(value: float | int) -> str:
    """French formatting: comma for decimals, narrow no-break space between thousands."""
    text = f"{value:,.1f}" if isinstance(value, float) else f"{value:,d}"
    if text.endswith(".0"):
        text = text[:-2]
    return text.replace(",", "\u202f").replace(".", ",")


def fr_pct(value: Fraction | None) -> str:
    number = pct_number(value)
    return "—" if number is None else f"{fr_number(number)}\u00a0%"


def fr_time(instant: datetime | None) -> str:
    """A naive UTC instant of the ledger as Paris time, « 28/11/2026 14:05 »."""
    return "—" if instant is None else f"{paris_time(instant):%d/%m/%Y %H:%M}"


def fr_duration(duration: timedelta | None) -> str:
    if duration is None:
        return "—"
    minutes = int(duration.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days}\u00a0j {hours}\u00a0h {minutes:02d}\u00a0min"
    if hours:
        return f"{hours}\u00a0h {minutes:02d}\u00a0min"
    return f"{minutes}\u00a0min"


def tickets_href(figure_id: str) -> str:
    return "/tickets/" + quote(figure_id, safe="/")


@dataclass(frozen=True)
class TicketLinks:
    """Links to the ServiceNow instance, when its URL is configured."""

    base_url: str | None

    def href(self, fact: RequestFact) -> str | None:
        if self.base_url is None:
            return None
        if fact.ticket_sys_id:
            return f"{self.base_url}/nav_to.do?uri=" + quote(f"task.do?sys_id={fact.ticket_sys_id}", safe="")
        if fact.ticket_number:
            return f"{self.base_url}/text_search_exact_match.do?sysparm_search=" + quote(fact.ticket_number)
        return None


def ticket_rows(facts: tuple[RequestFact, ...], links: TicketLinks) -> list[dict[str, Any]]:
    return [{
        "number": f.ticket_number or "—", "href": links.href(f), "key": f.key,
        "channel": CHANNEL_LABELS.get(f.channel, f.channel),
        "intent": INTENT_LABELS.get(f.intent or "", f.intent or "—"),
        "decision": DECISION_LABELS.get(f.decision or "", f.decision or "—"), "uo_tr11": is_uo_tr11(f),
        "reason": f.reason or "—", "status": STATUS_LABELS.get(f.status, f.status),
        "created": fr_time(f.created_at), "finished": fr_time(f.finished_at),
    } for f in facts]


def _point(point: RatePoint) -> dict[str, Any]:
    return {"label": point.period.label, "first": point.period.first, "total": point.total,
            "automated": len(point.automated),
            "rate": pct_number(point.rate), "rate_text": fr_pct(point.rate), "figure": point.figure_id,
            "href": tickets_href(point.figure_id)}


def _bucket(bucket: Bucket, labels: dict[str, str]) -> dict[str, Any]:
    return {"value": bucket.value, "label": labels.get(bucket.value, bucket.value), "count": bucket.count,
            "automated": bucket.automated, "figure": bucket.figure_id, "href": tickets_href(bucket.figure_id)}


def chart(points: list[dict[str, Any]]) -> dict[str, Any]:
    """Geometry of the SVG line chart: x by the period's first day (gaps stay gaps), y by rate (0–100 %)."""
    inner_w = CHART_WIDTH - CHART_LEFT - CHART_RIGHT
    inner_h = CHART_HEIGHT - CHART_TOP - CHART_BOTTOM

    def y(pct: float) -> float:
        return round(CHART_TOP + inner_h * (1 - pct / 100), 1)

    days = [p["first"].toordinal() for p in points]
    span = (days[-1] - days[0]) if len(days) > 1 else 0

    def x(index: int) -> float:
        return round(CHART_LEFT + (inner_w * (days[index] - days[0]) / span if span else inner_w / 2), 1)

    dots = [{"x": x(i), "y": y(p["rate"]), "label": p["label"], "rate_text": p["rate_text"]}
            for i, p in enumerate(points) if p["rate"] is not None]
    ticks: list[dict[str, Any]] = []
    for i in reversed(range(len(points))):  # from the latest period back, skipping labels that would overlap
        if not ticks or ticks[-1]["x"] - x(i) >= TICK_GAP:
            ticks.append({"x": x(i), "label": points[i]["label"], "anchor": "middle"})
    ticks.reverse()
    if span and ticks:
        ticks[-1]["anchor"] = "end"
        if ticks[0]["x"] - CHART_LEFT < TICK_GAP / 2:
            ticks[0]["anchor"] = "start"
    return {"width": CHART_WIDTH, "height": CHART_HEIGHT, "left": CHART_LEFT, "right": CHART_WIDTH - CHART_RIGHT,
            "bottom": CHART_HEIGHT - CHART_BOTTOM, "top": CHART_TOP,
            "polyline": " ".join(f"{d['x']},{d['y']}" for d in dots), "dots": dots, "ticks": ticks,
            "lines": [{"pct": pct, "y": y(pct)} for pct in REFERENCE_LINES_PCT],
            "grid": [{"pct": pct, "y": y(pct)} for pct in (0, 100)]}


def band_text(band: BonusBand | None, bands: tuple[BonusBand, ...]) -> str:
    """« tranche de 30 à 49 % : +10 % de l'UO-TR1.1 », or why there is none."""
    if band is None:
        floor = fr_number(float(bands[0].from_pct)) if bands else "—"
        return f"aucune bonification (taux inférieur ou égal à {floor}\u00a0%)"
    top = f"à {fr_number(float(band.to_pct))}\u00a0%" if band.to_pct is not None else "et plus"
    return (f"tranche de {fr_number(float(band.from_pct))}\u00a0% {top} : "
            f"+{fr_number(float(band.bonus_pct))}\u00a0% de l'UO-TR1.1")


def present(figures: Figures, granularity: Granularity, refresh_seconds: int) -> dict[str, Any]:
    """Everything the page shows; ``values`` maps each ``data-key`` of the page to its text (for the refresh)."""
    dated = [_point(p) for p in figures.rates.get(granularity, [])]
    geometry = chart(dated)
    points = [{k: v for k, v in p.items() if k != "first"} for p in dated]  # dates are for the chart only
    year = figures.contract_year
    contract: dict[str, Any] | None = None
    if year is not None:
        bonus = year.bonus() or {}
        shares: list[dict[str, Any]] = bonus.get("bands", [])  # type: ignore[assignment]
        contract = {
            "label": year.period.label, "first": f"{year.period.first:%d/%m/%Y}",
            "last": f"{year.period.last:%d/%m/%Y}",
            "total": year.total, "automated": len(year.automated), "rate_text": fr_pct(year.rate),
            "band_text": band_text(year.band, year.bands),
            "bands": [{"text": f"{fr_number(float(b['points']))} points à +{fr_number(float(b['bonus_pct']))}\u00a0%"}
                      for b in shares],
            "href": tickets_href("contract-year"),
        }
    queue = figures.queue
    oldest = queue.oldest
    sla = None if figures.sla is None else [{
        "indicator": s.indicator, "target": f"{fr_number(float(s.target_pct))}\u00a0%", "rate_text": fr_pct(s.rate),
        "met": len(s.met), "missed": len(s.missed), "pending": len(s.pending),
        "ok": None if s.rate is None else s.rate >= Fraction(s.target_pct),
        "figure": s.figure_id, "href": tickets_href(s.figure_id),
    } for s in figures.sla]
    data: dict[str, Any] = {
        "generated_at": f"{paris_time(figures.now):%d/%m/%Y %H:%M:%S}",
        "refresh_seconds": refresh_seconds,
        "granularity": granularity,
        "granularities": [{"value": g, "label": GRANULARITY_LABELS[g], "current": g == granularity}
                          for g in ("day", "week", "month")],
        "latest": points[-1] if points else None,
        "chart": geometry,
        "points": points,
        "totals": {"requests": len(figures.requests), "automated": len(figures.automated),
                   "href_all": tickets_href("all"), "href_automated": tickets_href("automated")},
        "contract_year": contract,
        "channels": [_bucket(b, CHANNEL_LABELS) for b in figures.channels],
        "intents": [_bucket(b, INTENT_LABELS) for b in figures.intents],
        "reasons": [_bucket(b, {}) for b in figures.reasons[:10]],
        "queue": {"count": len(queue.requests), "href": tickets_href("queue"),
                  "oldest": None if oldest is None else {
                      "ticket": oldest.ticket_number or oldest.key, "since": fr_time(oldest.created_at),
                      "wait": fr_duration(queue.oldest_wait)}},
        "sla": sla,
    }
    data["values"] = values_of(data)
    return data


def values_of(data: dict[str, Any]) -> dict[str, str]:
    """The text of every figure on the page, keyed as its element's ``data-key``."""
    values = {"generated_at": data["generated_at"], "totals.requests": fr_number(data["totals"]["requests"]),
              "totals.automated": fr_number(data["totals"]["automated"]),
              "queue.count": fr_number(data["queue"]["count"])}
    oldest = data["queue"]["oldest"]
    if oldest is not None:
        values |= {"queue.oldest.ticket": oldest["ticket"], "queue.oldest.since": oldest["since"],
                   "queue.oldest.wait": oldest["wait"]}
    for point in data["points"]:
        prefix = f"{point['figure']}."
        values |= {prefix + "total": fr_number(point["total"] or 0),
                   prefix + "automated": fr_number(point["automated"]), prefix + "rate": point["rate_text"]}
    for name in ("channels", "intents", "reasons"):
        for bucket in data[name]:
            values |= {f"{bucket['figure']}.count": fr_number(bucket["count"]),
                       f"{bucket['figure']}.automated": fr_number(bucket["automated"])}
    year = data["contract_year"]
    if year is not None:
        values |= {"contract-year.rate": year["rate_text"], "contract-year.band": year["band_text"],
                   "contract-year.automated": fr_number(year["automated"]),
                   "contract-year.total": fr_number(year["total"] or 0)}
    for sla in data["sla"] or []:
        values |= {f"{sla['figure']}.rate": sla["rate_text"], f"{sla['figure']}.missed": fr_number(sla["missed"]),
                   f"{sla['figure']}.met": fr_number(sla["met"])}
    return values
