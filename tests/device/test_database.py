"""The terminal's SQLite store (kiosk.device.database), on real SQLite files."""

from __future__ import annotations

import json
import sqlite3
import threading
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path

import pytest

from kiosk.device import database as store_module
from kiosk.core.privacy import aggregate
from kiosk.device.database import CorruptDatabaseError, SchemaVersionError, StorageFullError, Store
from tests.storekit import T0, abandoned, ended, served

BUILD = partial(aggregate, store_id="berlin-01", device_id="pi-0042", k=5)
DAY = timedelta(days=1)


@pytest.fixture()
def store(tmp_path: Path):  # type: ignore[no-untyped-def]
    with Store.in_data_dir(tmp_path) as s:
        yield s


def close(store: Store, until: datetime, batch_size: int = 200):  # type: ignore[no-untyped-def]
    return store.close_days(until=until, build=BUILD, device_id="pi-0042", batch_size=batch_size, now=until)


def fill_day(store: Store, day: int, n: int = 6, hour: int = 9) -> None:
    for i in range(n):
        store.add_interaction(served(), ended(T0.replace(hour=hour, minute=i) + day * DAY))


# ---- opening and schema ---------------------------------------------------------------------------------------

def test_opens_in_wal_mode_with_full_sync(store: Store) -> None:
    raw = sqlite3.connect(store.path)
    assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store._conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_new_database_gets_the_latest_schema(store: Store) -> None:
    assert store.schema_version == len(store_module.MIGRATIONS) >= 1


def test_data_dir_is_created(tmp_path: Path) -> None:
    with Store.in_data_dir(tmp_path / "var" / "kiosk") as s:
        assert s.path == tmp_path / "var" / "kiosk" / "terminal.sqlite"


def test_newer_schema_is_refused_not_touched(tmp_path: Path) -> None:
    path = tmp_path / "terminal.sqlite"
    sqlite3.connect(path).execute("PRAGMA user_version=99")
    with pytest.raises(SchemaVersionError, match="update the terminal software"):
        Store.open(path)
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == 99


def test_migration_upgrades_in_place_and_keeps_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with Store.in_data_dir(tmp_path) as s:
        fill_day(s, 0, n=3)
    extra = ("ALTER TABLE interactions ADD COLUMN note_v2 INTEGER",)
    monkeypatch.setattr(store_module, "MIGRATIONS", store_module.MIGRATIONS + (extra,))
    with Store.in_data_dir(tmp_path) as s:
        assert (s.schema_version, s.count_interactions()) == (len(store_module.MIGRATIONS), 3)


def test_failed_migration_rolls_back_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with Store.in_data_dir(tmp_path):
        pass
    bad = ("CREATE TABLE half_done (x INTEGER)", "THIS IS NOT SQL")
    monkeypatch.setattr(store_module, "MIGRATIONS", store_module.MIGRATIONS + (bad,))
    with pytest.raises(store_module.StoreError):
        Store.in_data_dir(tmp_path)
    raw = sqlite3.connect(tmp_path / "terminal.sqlite")
    assert raw.execute("PRAGMA user_version").fetchone()[0] == len(store_module.MIGRATIONS) - 1
    assert raw.execute("SELECT count(*) FROM sqlite_master WHERE name = 'half_done'").fetchone()[0] == 0


# ---- corruption -----------------------------------------------------------------------------------------------

def test_garbage_file_is_moved_aside_and_reported(tmp_path: Path) -> None:
    path = tmp_path / "terminal.sqlite"
    path.write_bytes(b"this is not a database at all" * 200)
    with pytest.raises(CorruptDatabaseError, match="moved to") as err:
        Store.open(path)
    assert not path.exists()
    assert err.value.moved_to.name.startswith("terminal.sqlite.corrupt-")
    assert err.value.moved_to.read_bytes().startswith(b"this is not a database")


def test_damaged_page_fails_the_integrity_check(tmp_path: Path) -> None:
    with Store.in_data_dir(tmp_path) as s:
        for day in range(40):
            fill_day(s, day, n=5)
        index_page = s._conn.execute(
            "SELECT rootpage FROM sqlite_master WHERE name = 'interactions_started'").fetchone()[0]
    path = tmp_path / "terminal.sqlite"
    data = bytearray(path.read_bytes())
    start = (index_page - 1) * 4096
    data[start + 8:start + 4096] = bytes(4088)  # the index page's cells, zeroed: the index no longer matches
    path.write_bytes(bytes(data))
    with pytest.raises(CorruptDatabaseError, match="damaged"):
        Store.open(path)
    assert list(tmp_path.glob("terminal.sqlite.corrupt-*"))


def test_index_out_of_step_with_its_table_fails_the_integrity_check(tmp_path: Path) -> None:
    with Store.in_data_dir(tmp_path) as s:
        fill_day(s, 0, n=5)
    raw = sqlite3.connect(tmp_path / "terminal.sqlite")
    raw.execute("PRAGMA writable_schema=ON")  # a readable file whose index no longer matches its rows
    raw.execute("UPDATE sqlite_master SET sql = replace(sql, '(started_at_utc)', '(ended_at_utc)') "
                "WHERE name = 'interactions_started'")
    raw.commit()
    raw.close()
    with pytest.raises(CorruptDatabaseError, match="missing from index"):
        Store.in_data_dir(tmp_path)


def test_opening_again_after_corruption_starts_empty_and_keeps_the_damaged_copy(tmp_path: Path) -> None:
    path = tmp_path / "terminal.sqlite"
    path.write_bytes(b"\x00garbage" * 1000)
    with pytest.raises(CorruptDatabaseError):
        Store.open(path)
    with Store.open(path) as fresh:  # the caller chose to start afresh
        assert fresh.count_interactions() == 0
    assert len(list(tmp_path.glob("terminal.sqlite.corrupt-*"))) == 1


# ---- interactions and ratings ---------------------------------------------------------------------------------

def test_interaction_round_trips_with_its_numbers(store: Store) -> None:
    item = served(greeting_s=3.5, wait_s=7.25, eye=0.625, distance=1.1, rating=3, scores={"greeting_prompt": 0.5})
    store.add_interaction(item, ended(T0), {"greeting_prompt": False})
    (back,) = store.interactions()
    assert back.interaction == item
    assert back.within_target == {"greeting_prompt": False}


def test_arrival_time_is_end_minus_the_video_clock_duration(store: Store) -> None:
    store.add_interaction(abandoned(), T0)  # left_at 30 s after arrival
    assert store.interactions()[0].started_at == T0 - timedelta(seconds=30)


def test_duplicate_interaction_id_is_refused(store: Store) -> None:
    item = served()
    store.add_interaction(item, ended(T0))
    with pytest.raises(ValueError, match="already stored"):
        store.add_interaction(item, ended(T0))
    assert store.count_interactions() == 1


def test_naive_time_is_refused(store: Store) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        store.add_interaction(served(), datetime(2025, 3, 4, 9))


def test_rating_tapped_before_its_interaction_is_stored_is_joined(store: Store) -> None:
    item = served()
    store.add_rating(4, T0, interaction_id=item.id)
    store.add_interaction(item, ended(T0))
    assert store.interactions()[0].interaction.rating == 4


def test_second_tap_for_an_interaction_replaces_the_first(store: Store) -> None:
    item = served(rating=1)
    store.add_interaction(item, ended(T0))
    store.add_rating(3, ended(T0), interaction_id=item.id)
    assert store.interactions()[0].interaction.rating == 3


def test_no_customer_tap_cannot_be_linked(store: Store) -> None:
    with pytest.raises(ValueError, match="no_customer"):
        store.add_rating(2, T0, interaction_id="abc", no_customer=True)


def test_rating_outside_one_to_four_is_refused(store: Store) -> None:
    with pytest.raises(ValueError, match="1-4"):
        store.add_rating(5, T0)


def test_two_threads_writing_through_one_store_lose_nothing(store: Store) -> None:
    def write(offset: int) -> None:
        for i in range(50):
            store.add_interaction(served(), ended(T0 + timedelta(seconds=offset + i)))

    threads = [threading.Thread(target=write, args=(n * 100,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert store.count_interactions() == 100


# ---- retention ------------------------------------------------------------------------------------------------

def test_retention_deletes_only_rows_older_than_the_cut(store: Store) -> None:
    for age_days in (40, 31, 29, 1):
        store.add_interaction(served(), ended(T0 - age_days * DAY))
        store.add_rating(2, T0 - age_days * DAY)
    assert store.apply_retention(T0, 30) == 2
    assert sorted((T0 - ti.started_at).days for ti in store.interactions()) == [1, 29]
    assert store._conn.execute("SELECT count(*) FROM ratings").fetchone()[0] == 2


def test_retention_never_deletes_unsent_batches(store: Store) -> None:
    fill_day(store, 0)
    close(store, T0 + 2 * DAY)
    store.apply_retention(T0 + 400 * DAY, 30)
    assert len(store.pending_batches()) == 1


def test_retention_deletes_old_sent_batches(store: Store) -> None:
    fill_day(store, 0)
    close(store, T0 + 2 * DAY)
    store.mark_sent(store.pending_batches()[0].batch_id, T0 + 2 * DAY)
    store.apply_retention(T0 + 400 * DAY, 30)
    assert store.sent_batches() == []


# ---- closing days into the outbox -----------------------------------------------------------------------------

def test_a_day_is_closed_only_after_it_ended(store: Store) -> None:
    fill_day(store, 0)
    assert close(store, T0.replace(hour=23, minute=59)).days == 0
    assert close(store, T0 + DAY).days == 1


def test_a_day_is_closed_once(store: Store) -> None:
    fill_day(store, 0)
    first, second = close(store, T0 + 2 * DAY), close(store, T0 + 3 * DAY)
    assert (first.batches, second.batches, len(store.pending_batches())) == (1, 0, 1)


def test_interaction_stored_for_a_closed_day_is_kept_but_counted_late(store: Store) -> None:
    fill_day(store, 0)
    close(store, T0 + 2 * DAY)
    store.add_interaction(served(), ended(T0.replace(hour=15)))  # the clock jumped back a day
    assert (store.count_interactions(), store.late_interactions()) == (7, 1)
    assert close(store, T0 + 3 * DAY).batches == 0


def test_outbox_batches_split_by_batch_size(store: Store) -> None:
    for hour in range(8, 13):
        fill_day(store, 0, n=5, hour=hour)
    report = close(store, T0 + 2 * DAY, batch_size=2)
    assert (report.aggregates, report.batches) == (5, 3)
    assert [b.aggregates for b in store.pending_batches()] == [2, 2, 1]


def test_outbox_payload_is_the_wire_body(store: Store) -> None:
    fill_day(store, 0)
    close(store, T0 + 2 * DAY)
    (batch,) = store.pending_batches()
    body = json.loads(batch.payload)
    assert set(body) == {"device_id", "batch_id", "aggregates"}
    assert body["batch_id"] == batch.batch_id


def test_suppressed_day_is_closed_without_a_batch(store: Store) -> None:
    fill_day(store, 0, n=3)
    report = close(store, T0 + 2 * DAY)
    assert (report.days, report.suppressed_interactions, report.batches) == (1, 3, 0)


def test_sent_batch_leaves_the_queue(store: Store) -> None:
    fill_day(store, 0)
    close(store, T0 + 2 * DAY)
    store.mark_sent(store.pending_batches()[0].batch_id, T0 + 2 * DAY)
    assert (store.pending_batches(), len(store.sent_batches())) == ([], 1)


def test_failed_batch_is_set_aside_with_its_message_and_can_be_requeued(store: Store) -> None:
    fill_day(store, 0)
    close(store, T0 + 2 * DAY)
    batch_id = store.pending_batches()[0].batch_id
    store.mark_failed(batch_id, "HTTP 422: ratings missing", T0 + 2 * DAY)
    assert store.pending_batches() == [] and store.failed_batches()[0].error == "HTTP 422: ratings missing"
    assert store.requeue_failed() == 1
    assert [b.batch_id for b in store.pending_batches()] == [batch_id]


# ---- a full disk ----------------------------------------------------------------------------------------------

def full_store(tmp_path: Path) -> tuple[Store, int]:
    s = Store.in_data_dir(tmp_path, max_size_bytes=64 * 4096)
    written = 0
    with pytest.raises(StorageFullError, match="is full") as err:
        while True:
            item = served(scores={f"c{i}": 0.5 for i in range(20)})
            s.add_interaction(item, ended(T0 + written * timedelta(minutes=1)))
            written += 1
    assert "size cap" in str(err.value) and "MB free" in str(err.value)
    return s, written


def test_full_database_raises_storage_full_and_keeps_earlier_rows(tmp_path: Path) -> None:
    s, written = full_store(tmp_path)
    assert written > 10
    assert (s.count_interactions(), s.integrity_problems()) == (written, [])
    s.close()


def test_retention_makes_room_after_the_disk_was_full(tmp_path: Path) -> None:
    s, written = full_store(tmp_path)
    s.apply_retention(T0 + written * timedelta(minutes=1) + timedelta(days=30), 30)
    s.add_interaction(served(), ended(T0 + 40 * DAY))
    assert s.count_interactions() < written
    s.close()


# ---- follow-up answers ---------------------------------------------------------------------------------------------

def test_follow_up_answers_are_kept_as_counts_per_hour_only(store: Store) -> None:
    for minute in (1, 7, 40):
        store.add_reason("quick", T0.replace(hour=9, minute=minute, second=13))
    store.add_reason("waiting", T0.replace(hour=10, minute=5))
    assert [(c.hour.hour, c.reason, c.count) for c in store.reason_counts()] == [(9, "quick", 3), (10, "waiting", 1)]
    raw = sqlite3.connect(store.path).execute("SELECT hour_utc FROM reason_counts").fetchall()
    assert all(h.endswith("00:00.000000Z") for (h,) in raw)  # no minute or second of a tap survives


def test_an_unknown_reason_is_refused_before_it_is_written(store: Store) -> None:
    with pytest.raises(ValueError, match="reason must be one of"):
        store.add_reason("rude", T0)
    assert store.reason_counts() == []


def test_closing_a_day_sends_its_answers_and_retention_deletes_old_ones(store: Store) -> None:
    fill_day(store, 0, n=6)
    store.add_reason("friendly", T0.replace(hour=9, minute=30))
    close(store, T0 + 2 * DAY)
    (batch,) = store.pending_batches()
    assert [a["reasons"] for a in json.loads(batch.payload)["aggregates"]] == [{"friendly": 1}]
    store.apply_retention(T0 + 40 * DAY, 30)
    assert store.reason_counts() == []
