"""The Celery application. Workers started with ``celery -A workers.celery_app worker`` read ``SESAME_CONFIG``."""

from __future__ import annotations

import os
from pathlib import Path

from celery import Celery
from celery.schedules import crontab

from workers.config import Settings, load_settings

QUEUE = "sesame"

app = Celery("sesame")
app.conf.update(
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    task_ignore_result=True,
    task_default_queue=QUEUE,
    # A task is acknowledged only once done, so a worker that dies mid-request leaves it for another one.
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
    enable_utc=True,
    # Crontab entries of beat are read in Paris time (the flash is due at 09:00 Paris, summer and winter alike).
    timezone="Europe/Paris",
)
# The daily flash (docs/reporting.md): yesterday's volumes, automated rate and anomalies, kept in the ledger.
FLASH_AT = crontab(hour=9, minute=0, app=app)

_settings: Settings | None = None


def configure(settings: Settings, config_path: str | Path) -> Celery:
    """Point the app at the configured broker and schedule the pollers."""
    global _settings
    _settings = settings
    os.environ["SESAME_CONFIG"] = str(Path(config_path).resolve())
    app.conf.broker_url = settings.broker_url
    app.conf.beat_schedule = {
        "poll-mailbox": {"task": "sesame.poll_mailbox", "schedule": settings.mailbox.poll_interval_seconds},
        "daily-flash": {"task": "sesame.daily_flash", "schedule": FLASH_AT},
    }
    return app


def settings() -> Settings:
    """The settings of this process: given to ``configure`` or read from ``SESAME_CONFIG``."""
    global _settings
    if _settings is None:
        path = os.environ.get("SESAME_CONFIG")
        if not path:
            raise RuntimeError("SESAME_CONFIG is not set: start workers with `sesame run --config FILE`")
        configure(load_settings(path), path)
    assert _settings is not None
    return _settings


if os.environ.get("SESAME_CONFIG"):
    settings()

import workers.tasks  # noqa: E402,F401  (registers the tasks on the app)
