"""The ServiceNow emulator's tables survive a restart: every change is written through to SQLite."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from sandbox.scenario import load_scenario
from sandbox.servicenow import TableStore, seed_store
from sandbox.servicenow.errors import DataPolicyError
from sandbox.servicenow.persistence import StoreFileError

DEMO = Path(__file__).resolve().parents[3] / "sandbox" / "scenarios" / "demo"
ROOT = Path(__file__).resolve().parents[3]
BOT = "svc-sesame"


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "servicenow.sqlite"


@pytest.fixture
def store(path: Path) -> TableStore:
    store = TableStore(persist_to=path)
    seed_store(store, load_scenario(DEMO), bot_user=BOT)
    return store


def _everything(store: TableStore) -> dict[str, list[dict[str, str]]]:
    return {table: [dict(r) for r in store.rows(table)] for table in store.schemas}


def test_a_restarted_store_sees_inserts_updates_deletes_journals_and_counters(store: TableStore, path: Path) -> None:
    kept = store.insert("incident", {"short_description": "gardé", "work_notes": "première note"}, user=BOT)
    store.update("incident", kept["sys_id"], {"state": "2", "comments": "on s'en occupe"}, user=BOT)
    gone = store.insert("incident", {"short_description": "supprimé"}, user=BOT)
    assert (kept["number"], gone["number"]) == ("INC0010002", "INC0010003")
    store.delete("incident", gone["sys_id"])
    before = _everything(store)
    store.close()  # no save(): writes were durable when they returned

    restarted = TableStore(persist_to=path)
    assert _everything(restarted) == before  # same rows, same order
    assert restarted.get("incident", kept["sys_id"])["state"] == "2"  # type: ignore[index]
    assert restarted.get("incident", gone["sys_id"]) is None
    notes = restarted.find("sys_journal_field", element_id=kept["sys_id"])
    assert {(n["element"], n["value"]) for n in notes} == {
        ("work_notes", "première note"),
        ("comments", "on s'en occupe"),
    }
    # The deleted INC0010003 is not reused: the counter itself was persisted.
    assert restarted.insert("incident", {}, user=BOT)["number"] == "INC0010004"
    assert TableStore.load(path).find("incident", number="INC0010004")


def test_the_file_is_one_records_table_and_counters_in_wal_mode(store: TableStore, path: Path) -> None:
    record = store.insert("incident", {"short_description": "sur disque"}, user=BOT)
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        (data,) = db.execute(
            "SELECT data FROM records WHERE tbl = 'incident' AND sys_id = ?", (record["sys_id"],)
        ).fetchone()
        assert json.loads(data) == record
        assert dict(db.execute("SELECT prefix, next_number FROM counters")) == {"INC": 10003}
    db.close()


def test_a_refused_write_leaves_the_file_unchanged(store: TableStore, path: Path) -> None:
    record = store.insert("incident", {"short_description": "à résoudre"}, user=BOT)
    with pytest.raises(DataPolicyError):
        store.update("incident", record["sys_id"], {"state": "6", "work_notes": "résolu ?"}, user=BOT)
    store.close()
    reloaded = TableStore.load(path)
    assert reloaded.get("incident", record["sys_id"]) == record
    assert not reloaded.find("sys_journal_field", element_id=record["sys_id"])


def test_writes_survive_a_process_that_dies_without_closing(store: TableStore, path: Path) -> None:
    store.close()
    child = textwrap.dedent(
        f"""
        import os
        from sandbox.servicenow import TableStore
        store = TableStore.load({str(path)!r})
        store.insert("incident", {{"short_description": "écrit avant la mort"}}, user="{BOT}")
        os._exit(0)  # no close, no atexit: as if the sandbox were killed
        """
    )
    subprocess.run([sys.executable, "-c", child], cwd=ROOT, check=True, timeout=60)
    assert TableStore.load(path).find("incident", short_description="écrit avant la mort")


def test_save_if_persistent_and_save_to_the_own_file_change_nothing(store: TableStore, path: Path) -> None:
    before = path.stat().st_mtime_ns
    store.save_if_persistent()
    store.save()
    store.save(path)
    assert path.stat().st_mtime_ns == before


def test_save_elsewhere_writes_a_loadable_copy(store: TableStore, tmp_path: Path) -> None:
    record = store.insert("incident", {"work_notes": "copie"}, user=BOT)
    copy = tmp_path / "copy" / "servicenow.sqlite"
    store.save(copy)
    loaded = TableStore.load(copy)
    assert _everything(loaded) == _everything(store)
    assert loaded.persist_to == copy
    loaded.insert("incident", {}, user=BOT)
    assert store.get("incident", record["sys_id"]) is not None and len(list(store.rows("incident"))) == 2


def test_a_store_in_memory_saves_to_a_file_that_loads(tmp_path: Path) -> None:
    memory = TableStore()
    seed_store(memory, load_scenario(DEMO), bot_user=BOT)
    memory.insert("incident", {"short_description": "en mémoire"}, user=BOT)
    target = tmp_path / "servicenow.sqlite"
    memory.save(target)
    loaded = TableStore.load(target)
    assert _everything(loaded) == _everything(memory)
    assert loaded.insert("incident", {}, user=BOT)["number"] == "INC0010003"
    with pytest.raises(ValueError, match="needs a path"):
        memory.save()


def test_rows_of_tables_the_emulator_does_not_know_are_kept_on_disk(store: TableStore, path: Path) -> None:
    store.close()
    with sqlite3.connect(path) as db:
        db.execute("INSERT INTO records (tbl, sys_id, data) VALUES ('x_retired', 'a1', '{\"sys_id\": \"a1\"}')")
    db.close()
    reloaded = TableStore.load(path)
    reloaded.insert("incident", {}, user=BOT)
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT count(*) FROM records WHERE tbl = 'x_retired'").fetchone() == (1,)
    db.close()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no ServiceNow emulator data there"),
        (b'{"format": 1, "tables": {}}', "older sandboxes: delete it to reseed"),
        (b"hello, not a database", "not a ServiceNow emulator SQLite file"),
    ],
)
def test_loading_a_missing_or_foreign_file_says_what_to_do(tmp_path: Path, content: bytes | None, message: str) -> None:
    target = tmp_path / "servicenow.sqlite"
    if content is not None:
        target.write_bytes(content)
    with pytest.raises(StoreFileError, match=message):
        TableStore.load(target)
    if content is not None:
        assert target.read_bytes() == content  # never overwritten
