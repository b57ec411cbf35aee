"""Central server at scale (DESIGN §8): ingest rows per second, and p50/p95 latency of the daily and the
comparison queries, over N stores x D days of hourly aggregates, on SQLite and on PostgreSQL.

The history is bulk-loaded straight into the tables (aggregates plus their store-day and store-week rollups,
built with the server's own Totals code), since sending a year of a thousand stores through HTTP would only
measure the loader. Then a real server on a loopback port is measured the way clients use it: terminals POST
batches, managers GET a day, regional staff GET a comparison. Prints figures; asserts nothing about time.

Each figure is measured twice in the same run, interleaved so machine load hits both alike: "weeks" is the
server as it is (whole weeks read from ``store_weeks``, kept at ingest), "days" the reference of before (every
report summing ``store_days`` only, ingest keeping no weekly rollup), which the server is switched to by
patching those two functions in this process.

Run: ``.venv/bin/python benchmarks/central.py [--stores 200] [--days 365] [--backend both]`` takes a few
minutes; ``--stores 1000`` is the full case of the issue (a year of 1,000 stores: ~10 minutes per database).
A region holds ``--stores-per-region`` stores (100), so the comparisons cost the same at any --stores.
PostgreSQL runs in a throwaway cluster from Debian's binaries unless ``--pg-url`` names one.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import datetime as dt
import json
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kiosk.central import crud  # noqa: E402
from kiosk.central import ingest as central_ingest  # noqa: E402
from kiosk.central.app import create_app  # noqa: E402
from kiosk.central.reports import common as report_common  # noqa: E402
from kiosk.central.ingest import week_start  # noqa: E402
from kiosk.central.partitions import ensure_partitions  # noqa: E402
from kiosk.settings.central import CentralSettings  # noqa: E402
from kiosk.central.totals import totals_columns, totals_from_wire, totals_to_columns  # noqa: E402
from tests.central.conftest import LiveServer  # noqa: E402
from tests.central.pg import Cluster, find_bindir  # noqa: E402

PASSWORD = "benchmark password"
END = dt.date(2025, 3, 9)  # last loaded day; ingest then sends the days after it
# The server's clock: after every day ingest sends (it refuses unfinished periods).
NOW = dt.datetime(2027, 1, 1, 12, tzinfo=dt.UTC)
MODES = ("weeks", "days")
CRITERIA = ("greeting_prompt", "wait_time")
AGG_COLUMNS = ("device_id", "period", "period_start", "store_id", "day", "interactions", "greeted", "abandoned",
               "rating_1", "rating_2", "rating_3", "rating_4", "measures", "within_target", "batch_id", "received_at")
DAY_COLUMNS = ("store_id", "day", "week_start", *totals_columns())
CRIT_COLUMNS = ("store_id", "day", "week_start", "criterion", "n", "met")
# No rate limit in the way, and retention long enough for the days ingest sends after the loaded year.
BENCH_SETTINGS: dict[str, Any] = {"ingest_burst": 100_000, "max_age_days": 3660}


def stats(n: int, p50: float, p90: float) -> dict[str, Any]:
    return {"n": n, "p50": round(p50, 3), "p90": round(p90, 3), "mean": round((p50 + p90) / 2, 3)}


def wire_row(rng: random.Random, store: str, device: str, start: dt.datetime) -> dict[str, Any]:
    """One plausible hourly aggregate in kiosk.wire.aggregate's JSON shape."""
    n = rng.randint(7, 30)  # every measure then has n >= 5 = k, which the server enforces
    greeted = n - rng.randint(0, 2)
    abandoned = rng.randint(0, 2)
    r = [rng.randint(0, 2), rng.randint(0, 3), rng.randint(0, 6), rng.randint(0, 8)]
    g50 = rng.uniform(2, 10)
    w50 = rng.uniform(10, 90)
    return {
        "store_id": store, "device_id": device, "period": "hour", "period_start": start.isoformat(),
        "interactions": n, "greeted": greeted, "abandoned": abandoned,
        "ratings": {str(i + 1): c for i, c in enumerate(r)},
        "greeting_s": stats(greeted, g50, g50 * 2.2), "wait_s": stats(n - abandoned, w50, w50 * 2.5),
        "eye_contact_ratio": stats(n - abandoned, rng.uniform(0.3, 0.7), 0.9),
        "distance_m_median": stats(n - abandoned, rng.uniform(0.8, 1.4), 1.9),
        "within_target": {c: {"n": n, "met": rng.randint(n // 2, n)} for c in CRITERIA},
    }


class Pool:
    """A few hundred distinct hourly rows, reused: JSON pre-serialised, rollup columns as a numpy matrix."""

    def __init__(self, size: int, seed: int = 7) -> None:
        rng = random.Random(seed)
        start = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
        rows = [wire_row(rng, "s", "d", start) for _ in range(size)]
        self.fixed = [(r["interactions"], r["greeted"], r["abandoned"], *r["ratings"].values()) for r in rows]
        self.measures = [json.dumps({k: r[k] for k in ("greeting_s", "wait_s", "eye_contact_ratio", "distance_m_median")}) for r in rows]
        self.within = [json.dumps(r["within_target"]) for r in rows]
        cols = []
        for r in rows:
            t = totals_from_wire(interactions=r["interactions"], greeted=r["greeted"], abandoned=r["abandoned"],
                                 ratings=list(r["ratings"].values()),
                                 measures={k: r[k] for k in ("greeting_s", "wait_s", "eye_contact_ratio", "distance_m_median")},
                                 within_target=r["within_target"])
            crit = [v for c in CRITERIA for v in t.criteria[c]]
            cols.append([float(v) for v in totals_to_columns(t).values()] + crit)
        self.matrix = np.array(cols)
        self.n_day_cols = len(totals_columns())


Rows = list[tuple[Any, ...]]


def generate(pool: Pool, stores: list[str], days: int, hours: int, seed: int) -> Iterator[tuple[Rows, Rows, Rows]]:
    """Per store: (aggregate rows, store_day rows, criteria rows) as tuples in the column orders above.

    Times and dates come as the text both databases accept (ISO, UTC), made once per hour and day rather
    than per row: at millions of rows the formatting is most of the loader's time.
    """
    rng = np.random.default_rng(seed)
    first = END - dt.timedelta(days=days - 1)
    received = "2025-03-10 00:00:00.000000+00:00"
    open_hours = list(range(24 - hours, 24))
    dates = [first + dt.timedelta(days=d) for d in range(days)]
    day_text = [d.isoformat() for d in dates]
    week_text = [week_start(d).isoformat() for d in dates]
    start_text = [[f"{d.isoformat()} {h:02d}:00:00.000000" for h in open_hours] for d in dates]
    cols = totals_columns()
    is_sum = [c.endswith("_sum") for c in cols]
    nd = pool.n_day_cols
    for store in stores:
        device = f"d-{store}"
        picks = rng.integers(0, len(pool.fixed), size=(days, hours))
        sums = pool.matrix[picks].sum(axis=1)
        batch = str(uuid.uuid4())
        aggs, day_rows, crit_rows = [], [], []
        for d in range(days):
            dtext, wtext, starts = day_text[d], week_text[d], start_text[d]
            for j, i in enumerate(picks[d].tolist()):
                aggs.append((device, "hour", starts[j], store, dtext, *pool.fixed[i], pool.measures[i], pool.within[i], batch, received))
            srow = sums[d].tolist()
            day_rows.append((store, dtext, wtext, *[v if f else int(v) for v, f in zip(srow[:nd], is_sum, strict=False)]))
            for k, c in enumerate(CRITERIA):
                crit_rows.append((store, dtext, wtext, c, int(srow[nd + 2 * k]), int(srow[nd + 2 * k + 1])))
        yield aggs, day_rows, crit_rows


def bulk_load(app: Any, pool: Pool, stores: list[str], days: int, hours: int) -> tuple[int, float]:
    """Write the history straight into the tables; returns (aggregate rows, seconds)."""
    engine = app.state.engine
    first = END - dt.timedelta(days=days - 1)
    ensure_partitions(engine, [dt.datetime(first.year, first.month, 1, tzinfo=dt.UTC) + dt.timedelta(days=31 * i)
                               for i in range(days // 28 + 2)])
    t0 = time.perf_counter()
    total = 0
    raw = engine.raw_connection()
    try:
        if engine.dialect.name == "sqlite":
            total = _load_sqlite(raw, pool, stores, days, hours)
        else:
            total = _load_postgresql(raw, pool, stores, days, hours)
        raw.commit()
        cur = raw.cursor()
        _fill_weeks(cur)
        raw.commit()
        cur.execute("ANALYZE")
        raw.commit()
    finally:
        raw.close()
    return total, time.perf_counter() - t0


def _fill_weeks(cur: Any) -> None:
    """The weekly rollups of the loaded days, summed in SQL (what ingest keeps, and migration 0004 fills)."""
    cols = totals_columns()
    cur.execute(f"INSERT INTO store_weeks (store_id, week_start, days, {', '.join(cols)}) "
                f"SELECT store_id, week_start, COUNT(*), {', '.join(f'SUM({c})' for c in cols)} "
                "FROM store_days GROUP BY store_id, week_start")
    cur.execute("INSERT INTO store_week_criteria (store_id, week_start, criterion, n, met) "
                "SELECT store_id, week_start, criterion, SUM(n), SUM(met) FROM store_day_criteria "
                "GROUP BY store_id, week_start, criterion")


@contextlib.contextmanager
def server_mode(mode: str) -> Iterator[None]:
    """"weeks": the server as it is; "days": reports read only store_days and ingest keeps no weekly rollup."""
    if mode == "weeks":
        yield
        return
    saved = report_common.whole_weeks, central_ingest._refresh_weeks
    report_common.whole_weeks = lambda *_: None  # type: ignore[assignment]
    central_ingest._refresh_weeks = lambda *_: None  # type: ignore[assignment]
    try:
        yield
    finally:
        report_common.whole_weeks, central_ingest._refresh_weeks = saved


def _insert_sql(table: str, cols: tuple[str, ...]) -> str:
    return f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"


def _load_sqlite(raw: Any, pool: Pool, stores: list[str], days: int, hours: int) -> int:
    cur = raw.cursor()
    total = 0
    for aggs, day_rows, crit_rows in generate(pool, stores, days, hours, seed=1):
        # SQLAlchemy's SQLite DateTime stores UTC wall time as text without an offset.
        cur.executemany(_insert_sql("aggregates", AGG_COLUMNS), [(*r[:15], r[15][:26]) for r in aggs])
        cur.executemany(_insert_sql("store_days", DAY_COLUMNS), day_rows)
        cur.executemany(_insert_sql("store_day_criteria", CRIT_COLUMNS), crit_rows)
        total += len(aggs)
    return total


def _load_postgresql(raw: Any, pool: Pool, stores: list[str], days: int, hours: int) -> int:
    conn = raw.driver_connection  # psycopg 3: COPY is the fast path
    total = 0
    with conn.cursor() as cur:
        try:
            # The history is consistent by construction: skipping the per-row foreign-key triggers makes COPY
            # several times faster. Needs a superuser (the throwaway cluster's); otherwise load with checks.
            cur.execute("SET session_replication_role = replica")
        except Exception:  # noqa: BLE001 - any refusal just means the slower path
            conn.rollback()
        for aggs, day_rows, crit_rows in generate(pool, stores, days, hours, seed=1):
            aggs = [(*r[:2], r[2] + "+00", *r[3:]) for r in aggs]  # period_start is timestamptz: say UTC
            for table, cols, rows in (("aggregates", AGG_COLUMNS, aggs), ("store_days", DAY_COLUMNS, day_rows),
                                      ("store_day_criteria", CRIT_COLUMNS, crit_rows)):
                with cur.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as copy:
                    # COPY text format; the pool's JSON holds no tab, newline or backslash to escape.
                    copy.write("".join("\t".join(map(str, r)) + "\n" for r in rows))
            total += len(aggs)
    return total


def percentiles(samples: list[float]) -> tuple[float, float]:
    q = statistics.quantiles(samples, n=20, method="inclusive")
    return statistics.median(samples), q[18]


def measure(label: str, settings: CentralSettings, args: argparse.Namespace) -> dict[str, Any]:
    stores = [f"s{i:05d}" for i in range(args.stores)]
    regions = [f"r{i:03d}" for i in range((args.stores + args.stores_per_region - 1) // args.stores_per_region)]
    app = create_app(settings, clock=lambda: NOW)
    tokens: dict[str, str] = {}
    with app.state.sessionmaker() as s:
        for r in regions:
            crud.create_region(s, r)
        for i, st in enumerate(stores):
            crud.create_store(s, st, regions[i // args.stores_per_region])
            tokens[st] = crud.create_device(s, f"d-{st}", st)[1]
        crud.create_user(s, "bench-admin", PASSWORD, "admin")
        s.commit()
    rows, load_s = bulk_load(app, Pool(512), stores, args.days, args.hours)
    out: dict[str, Any] = {"backend": label, "rows": rows, "load_rows_per_s": rows / load_s}
    rng = random.Random(3)
    with LiveServer(app) as live:
        out["ingest"] = _ingest(live.url, stores, tokens, args, rng)
        http = requests.Session()
        http.post(f"{live.url}/api/v1/login", json={"username": "bench-admin", "password": PASSWORD}, timeout=30)
        first = END - dt.timedelta(days=args.days - 1)
        reads = {
            "daily": (args.queries, lambda: (f"/api/v1/stores/{rng.choice(stores)}/daily",
                                             {"date": (first + dt.timedelta(days=rng.randrange(args.days))).isoformat()})),
            "compare28": (args.queries, lambda: (f"/api/v1/regions/{rng.choice(regions)}/compare",
                                                 {"from": (END - dt.timedelta(days=27)).isoformat(), "to": END.isoformat()})),
            "compare365": (max(5, args.queries // 2), lambda: (f"/api/v1/regions/{rng.choice(regions)}/compare",
                                                               {"from": first.isoformat(), "to": END.isoformat()})),
        }
        for name, (count, request) in reads.items():
            samples: dict[str, list[float]] = {mode: [] for mode in MODES}
            for _ in range(count):
                path, params = request()
                for mode in MODES:  # the same request in both modes, back to back
                    with server_mode(mode):
                        samples[mode].append(_timed(http, live.url + path, params))
            out[name] = {mode: percentiles(v) for mode, v in samples.items()}
    app.state.engine.dispose()
    return out


def _timed(http: requests.Session, url: str, params: dict[str, str]) -> float:
    t0 = time.perf_counter()
    r = http.get(url, params=params, timeout=120)
    ms = (time.perf_counter() - t0) * 1000
    if r.status_code != 200:
        raise RuntimeError(f"GET {url} -> {r.status_code}: {r.text[:200]}")
    return ms


def _ingest(url: str, stores: list[str], tokens: dict[str, str], args: argparse.Namespace,
            rng: random.Random) -> dict[str, tuple[float, float]]:
    """Rows/s of POST /api/v1/aggregates for new days after the loaded history, per mode: (1 terminal, 4 at once).

    Every round sends days no round sent before (its own offset), so each applies real new rows.
    """

    def batches(offset: int) -> list[tuple[str, dict[str, Any]]]:
        out = []
        for b in range(args.ingest_batches):
            st = stores[(b * 7 + offset) % len(stores)]
            start = dt.datetime(END.year, END.month, END.day, tzinfo=dt.UTC) + dt.timedelta(days=1 + offset)
            rows = [wire_row(rng, st, f"d-{st}", start + dt.timedelta(hours=h)) for h in range(args.batch_size)]
            out.append((st, {"device_id": f"d-{st}", "batch_id": str(uuid.uuid4()), "aggregates": rows}))
        return out

    def send(item: tuple[str, dict[str, Any]]) -> int:
        st, body = item
        r = requests.post(f"{url}/api/v1/aggregates", json=body, headers={"Authorization": f"Bearer {tokens[st]}"}, timeout=300)
        if r.status_code != 200:
            raise RuntimeError(f"ingest -> {r.status_code}: {r.text[:200]}")
        return len(body["aggregates"])

    rates: dict[str, list[float]] = {mode: [] for mode in MODES}
    for workers, base in ((1, 0), (4, 200)):
        for k, mode in enumerate(MODES):
            work = batches(base + 100 * k)
            with server_mode(mode):
                t0 = time.perf_counter()
                with concurrent.futures.ThreadPoolExecutor(workers) as pool:
                    n = sum(pool.map(send, work))
                rates[mode].append(n / (time.perf_counter() - t0))
    return {mode: (v[0], v[1]) for mode, v in rates.items()}


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--stores", type=int, default=200, help="stores loaded (1000: the issue's full case)")
    p.add_argument("--days", type=int, default=365)
    p.add_argument("--hours", type=int, default=24, help="hourly rows per store-day (24: every hour of the day)")
    p.add_argument("--stores-per-region", type=int, default=100)
    p.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    p.add_argument("--pg-url", help="an existing, empty PostgreSQL database (default: a throwaway cluster)")
    p.add_argument("--queries", type=int, default=40, help="requests per read measure")
    p.add_argument("--ingest-batches", type=int, default=20)
    p.add_argument("--batch-size", type=int, default=240, help="aggregates per POST (10 days of a terminal's hours)")
    args = p.parse_args(argv)
    if not 1 <= args.hours <= 24:
        p.error(f"--hours must be 1..24, got {args.hours}")
    if args.batch_size > 24 * 90:
        p.error("--batch-size above 2160 would run into the days of the next ingest round")

    results = []
    with tempfile.TemporaryDirectory(prefix="kiosk-bench-") as tmp:
        if args.backend in ("sqlite", "both"):
            results.append(measure("sqlite", CentralSettings(db_url=f"sqlite:///{tmp}/central.sqlite", **BENCH_SETTINGS), args))
            print_one(results[-1], args)
        if args.backend in ("postgresql", "both"):
            cluster = None
            url = args.pg_url
            if url is None:
                bindir = find_bindir()
                if bindir is None:
                    print("postgresql: skipped (no /usr/lib/postgresql/*/bin; apt-get install postgresql)")
                    return 0
                cluster = Cluster(bindir, shared_buffers="2GB").start()
                url = cluster.url()
            try:
                results.append(measure("postgresql", CentralSettings(db_url=url, **BENCH_SETTINGS), args))
                print_one(results[-1], args)
            finally:
                if cluster:
                    cluster.stop()
    return 0


def print_one(r: dict[str, Any], args: argparse.Namespace) -> None:
    print(f"\n{r['backend']}: {args.stores} stores x {args.days} days x {args.hours} hourly rows = {r['rows']:,} aggregates")
    print(f"  bulk load           {r['load_rows_per_s']:>10,.0f} rows/s")
    print("  (weeks: reports read store_weeks, kept at ingest; days: the reference, store_days only; same run)")
    for workers, label in ((0, "1 terminal"), (1, "4 at once")):
        w, d = r["ingest"]["weeks"][workers], r["ingest"]["days"][workers]
        print(f"  ingest (HTTP, {label:<10}) weeks {w:>8,.0f} rows/s   days {d:>8,.0f} rows/s   ratio {w / d:.2f}"
              f"  ({args.ingest_batches} batches x {args.batch_size})")
    for key, name in (("daily", "daily (1 store, 1 day)"), ("compare28", f"compare ({args.stores_per_region} stores, 28 d)"),
                      ("compare365", f"compare ({args.stores_per_region} stores, {args.days} d)")):
        (w50, w95), (d50, d95) = r[key]["weeks"], r[key]["days"]
        print(f"  {name:<30} weeks p50 {w50:>7.1f} p95 {w95:>7.1f} ms   days p50 {d50:>7.1f} p95 {d95:>7.1f} ms"
              f"   p95 ratio {w95 / d95:.2f}")
    sys.stdout.flush()


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
