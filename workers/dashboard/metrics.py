"""``/metrics``: the dashboard's main figures in Prometheus' text format (ops/grafana/sesame.json reads them).

Every value is a gauge computed from the ledger at scrape time (the figures are windows — the current day, the
contract year, the last 12 months — not ever-growing counters).
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from automations.reporting.figures import Figures, pct_number

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class FiguresCollector(Collector):
    def __init__(self, figures: Figures) -> None:
        self.figures = figures

    def collect(self) -> Iterator[Metric]:
        figures = self.figures
        rate = GaugeMetricFamily("sesame_automated_rate_percent",
                                 "Automated-resolution rate (UO-TR1.1 / requests) of the current period",
                                 labels=["period"])
        requests = GaugeMetricFamily("sesame_period_requests", "Requests of the current period, by outcome",
                                     labels=["period", "outcome"])
        for granularity, points in figures.rates.items():
            if points:
                latest = points[-1]
                value = pct_number(latest.rate, 3)
                if value is not None:
                    rate.add_metric([granularity], value)
                requests.add_metric([granularity, "all"], latest.total or 0)
                requests.add_metric([granularity, "automated"], len(latest.automated))
        year = figures.contract_year
        if year is not None:
            value = pct_number(year.rate, 3)
            if value is not None:
                rate.add_metric(["contract_year"], value)
            requests.add_metric(["contract_year", "all"], year.total or 0)
            requests.add_metric(["contract_year", "automated"], len(year.automated))
            band = year.band
            yield GaugeMetricFamily("sesame_bonus_band_percent",
                                    "Bonus of the band the contract year's rate reaches so far (0: none)",
                                    value=float(band.bonus_pct) if band is not None else 0.0)
        yield rate
        yield requests
        channels = GaugeMetricFamily("sesame_requests_by_channel", "Requests of the last 12 months by channel",
                                     labels=["channel"])
        for bucket in figures.channels:
            channels.add_metric([bucket.value], bucket.count)
        yield channels
        intents = GaugeMetricFamily("sesame_requests_by_intent", "Requests of the last 12 months by intent",
                                    labels=["intent"])
        for bucket in figures.intents:
            intents.add_metric([bucket.value], bucket.count)
        yield intents
        reasons = GaugeMetricFamily("sesame_handovers_by_reason",
                                    "Requests of the last 12 months handed over to people, by reason",
                                    labels=["reason"])
        for bucket in figures.reasons:
            reasons.add_metric([bucket.value], bucket.count)
        yield reasons
        yield GaugeMetricFamily("sesame_queue_requests", "Requests seen and not finished",
                                value=len(figures.queue.requests))
        wait = figures.queue.oldest_wait
        yield GaugeMetricFamily("sesame_queue_oldest_wait_seconds", "Age of the oldest unfinished request",
                                value=wait.total_seconds() if wait is not None else 0.0)
        if figures.sla is not None:
            sla = GaugeMetricFamily("sesame_sla_compliance_percent",
                                    "SLA compliance of automated tickets (GAP03 pick-up, GSP04 treatment)",
                                    labels=["indicator"])
            for figure in figures.sla:
                value = pct_number(figure.rate, 3)
                if value is not None:
                    sla.add_metric([figure.indicator], value)
            yield sla


def render(figures: Figures) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(FiguresCollector(figures))
    return generate_latest(registry)
