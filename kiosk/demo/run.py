"""`kiosk demo`: the whole story on one machine, on embedded defaults.

1. starts the central server (SQLite, a free loopback port) in its own process;
2. registers a region with three stores, their devices (tokens) and the demo logins;
3. runs each store's terminal: the measuring pipeline over a different mix of counter scenes (scripted scenes
   through the camera model, and where available a scene composed from real people run through MediaPipe),
   a customer rating after most services, everything stored in the terminal's own SQLite;
4. aggregates the day with small groups suppressed and syncs it through the real ingest API;
5. prints each store's daily summary and the regional comparison as the dashboard computes them;
6. leaves the dashboard running with its URL and logins until Ctrl+C or SIGTERM (unless ``wait=False``).

Stopped at any step (Ctrl+C, SIGTERM), it leaves nothing running: the central server and the measuring workers
are stopped before it returns.
"""

from __future__ import annotations

import logging
import multiprocessing
import shutil
import socket
import statistics
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

import numpy as np
import requests

from kiosk.clock import utc_now
from kiosk.settings.tree import Settings, StoreSettings, SyncSettings
from kiosk.demo.history import CHARACTERS, backfill, follow_up
from kiosk.demo.stopping import STOP, stop_on_signals
from kiosk.device.manager_call import ManagerCaller
from kiosk.core.rubrics import Rubric, load_store_rubric, score_interaction, within_target
from kiosk.core.interaction import Interaction
from kiosk.sim.simulate import load_scene, run_scene
from kiosk.device.database import Store
from kiosk.device.sync import fill_outbox, sync_once

log = logging.getLogger(__name__)
ROOT = Path(__file__).resolve().parents[2]
SCENES = ROOT / "scenes"  # the source checkout's scripted scenes: development material, not in the wheel
REGION = "north"
HISTORY_DAYS = 28  # four weeks before the demo day: trends, the weekday x hour map and week views have data
PASSWORD = "demo-password"


@dataclass(frozen=True)
class StorePlan:
    """One demo branch: its rubric, the scenes of its day (scene file, hour of day) and its customers' mood."""

    store_id: str
    name: str
    rubric: str  # a shipped rubric's name
    day: tuple[tuple[str, int], ...]
    mood: int  # added to every rating before clamping to 1..4: how forgiving this branch's customers are
    composed: str | None = None


PLANS = (
    StorePlan("north-retail", "Retail, Market Street", "retail_shop", mood=0, composed="prompt_service.toml", day=(
        ("01_served_promptly.toml", 9), ("05_track_lost.toml", 10), ("09_looking_at_screen.toml", 11),
        ("02_queue_of_three.toml", 12), ("12_busy_noisy.toml", 12), ("06_two_staff.toml", 12),
        ("11_passer_by.toml", 14), ("10_leaning_close.toml", 16), ("01_served_promptly.toml", 17))),
    StorePlan("north-bank", "Bank branch, Station Square", "bank_branch", mood=-1, composed="abandoned.toml", day=(
        ("02_queue_of_three.toml", 9), ("03_abandoned_unserved.toml", 10), ("07_staff_chatting.toml", 11),
        ("04_greeted_not_served.toml", 12), ("12_busy_noisy.toml", 13), ("02_queue_of_three.toml", 13),
        ("08_missing_keypoints.toml", 15), ("07_staff_chatting.toml", 16))),
    StorePlan("north-mall", "Mall kiosk", "default", mood=0, composed="late_greeting_after_chat.toml", day=(
        ("06_two_staff.toml", 10), ("01_served_promptly.toml", 11), ("12_busy_noisy.toml", 12),
        ("03_abandoned_unserved.toml", 14), ("09_looking_at_screen.toml", 15), ("05_track_lost.toml", 18))),
)


@dataclass
class TerminalDay:
    """What one terminal measured and stored for the demo day (the numbers the dashboard must match)."""

    store_id: str
    interactions: list[Interaction] = field(default_factory=list)
    ratings: dict[int, int] = field(default_factory=lambda: {1: 0, 2: 0, 3: 0, 4: 0})
    batches_sent: int = 0
    history_interactions: int = 0
    reasons: int = 0

    @property
    def greeted(self) -> int:
        return sum(x.greeted for x in self.interactions)

    @property
    def abandoned(self) -> int:
        return sum(x.abandoned for x in self.interactions)

    def median(self, name: str) -> float | None:
        vals = [getattr(x, name) for x in self.interactions if getattr(x, name) is not None]
        return statistics.median(vals) if vals else None


def rating_for(x: Interaction, mood: int, rng: np.random.Generator) -> int | None:
    """A customer's tap after service: most tap, faster service pleases more. Abandoned customers left."""
    if x.abandoned or x.left_at is None or rng.random() > 0.85:
        return None
    wait = x.wait_s or 0.0
    base = 4 if wait <= 15 else 3 if wait <= 45 else 2 if wait <= 90 else 1
    return int(min(4, max(1, base + mood + rng.choice([-1, 0, 0, 0, 1]))))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(workdir: Path, port: int, started: list[subprocess.Popen] | None = None) -> subprocess.Popen:
    """The central server in its own process, as in production; returns once it answers.

    ``started`` receives the process as soon as it exists, so a caller stopped by a signal at any moment after
    that can still stop it (it is also stopped here when the wait for it is interrupted)."""
    # A stop between the fork and the assignment would leave a server nobody knows of: it waits until the
    # process is on record.
    with STOP.held():
        proc = subprocess.Popen([sys.executable, "-m", "kiosk.cli", "serve", "--data-dir", str(workdir / "central"),
                                 "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if started is not None:
            started.append(proc)
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"the central server stopped at start: {proc.stderr.read() if proc.stderr else ''}")
            try:
                if requests.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=1).ok:
                    return proc
            except requests.RequestException:
                time.sleep(0.2)
            STOP.check()
        raise RuntimeError(f"the central server did not answer on port {port} within 60 s")
    except BaseException:  # also Ctrl+C or SIGTERM while waiting for it: the caller never got it to stop
        stop_server(proc)
        raise


def stop_server(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def register(workdir: Path) -> dict[str, str]:
    """Region, stores, devices (token per device) and the demo users; returns store id -> device token."""
    from kiosk.central import manage

    cs = manage.central_settings(data_dir=workdir / "central")
    manage.add_region(cs, REGION, "North region")
    tokens = {}
    for plan in PLANS:
        manage.add_store(cs, plan.store_id, REGION, plan.name)
        tokens[plan.store_id] = manage.add_device(cs, f"{plan.store_id}-counter-1", plan.store_id)
        manage.add_user(cs, f"manager-{plan.store_id.split('-')[1]}", PASSWORD, "manager", store_id=plan.store_id)
    manage.add_user(cs, "regional", PASSWORD, "regional", region_ids=[REGION])
    manage.add_user(cs, "admin", PASSWORD, "admin")
    return tokens


def _quiet_native_logs(path: str) -> None:
    """MediaPipe's C++ side writes straight to file descriptor 2; keep it in the demo's log, not on the screen."""
    import os

    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 2)
    os.close(fd)


def terminal_settings(plan: StorePlan, workdir: Path, url: str, token: str) -> Settings:
    return Settings(store=StoreSettings(data_dir=workdir / f"terminal-{plan.store_id}", store_id=plan.store_id,
                                        device_id=f"{plan.store_id}-counter-1", rubric=plan.rubric),
                    sync=SyncSettings(server_url=url, device_token=token, max_retries=2, backoff_s=0.2))


def measure_day(plan: StorePlan, settings: Settings,
                real_people: Callable[[str, Settings], list[Interaction]] | None) -> list[tuple[int, list[Interaction]]]:
    """What the store's terminal measures over the day: (hour of day, interactions) per scene. Runs in a worker
    process, so it takes and returns plain values."""
    runs: list[tuple[int, list[Interaction]]] = []
    for i, (scene_file, hour) in enumerate(plan.day):
        scene = load_scene(SCENES / scene_file)
        scene = scene.model_copy(update={"seed": scene.seed + 1000 * (i + 1)})  # each run its own noise
        runs.append((hour, run_scene(scene, settings).interactions))
    if real_people is not None and plan.composed:
        runs.append((19, real_people(plan.composed, settings)))
    return runs


def record_day(plan: StorePlan, day: date, settings: Settings, runs: list[tuple[int, list[Interaction]]]) -> TerminalDay:
    """The terminal's side after measuring: score, rate, store, aggregate the closed day, sync."""
    rubric = load_store_rubric(settings.store.rubric)
    rng = np.random.default_rng(sum(map(ord, plan.store_id)))
    result = TerminalDay(plan.store_id)
    day_start = datetime(day.year, day.month, day.day, tzinfo=timezone.utc)
    with Store.in_data_dir(settings.store.data_dir) as store:
        result.history_interactions, _ = backfill(store, plan.store_id, rubric, day - timedelta(days=HISTORY_DAYS),
                                                  HISTORY_DAYS, int(rng.integers(1 << 31)), rating_for)
        for hour, interactions in runs:
            for x in interactions:
                end_t = max(t for t in (x.arrived_at, x.greeted_at, x.service_started_at, x.left_at) if t is not None)
                scored = x.with_scores(score_interaction(rubric, x)).with_rating(rating_for(x, plan.mood, rng))
                ended = day_start + timedelta(hours=hour, seconds=end_t)
                store.add_interaction(scored, ended, within_target(rubric, x))
                result.interactions.append(scored)
                if scored.rating is not None:
                    result.ratings[scored.rating] += 1
                    answer = follow_up(scored.rating, x.wait_s, CHARACTERS[plan.store_id], rng)
                    if answer is not None:
                        store.add_reason(answer, ended)
                        result.reasons += 1
        fill_outbox(store, settings, now=day_start + timedelta(days=1), grace=timedelta(0))
        result.batches_sent = sync_once(store, settings).sent
    return result


def fetch_reports(url: str, day: date) -> tuple[dict[str, dict], dict, dict]:
    """Sign in as the regional user and read what the dashboard shows: each daily summary, the day's comparison
    and the comparison over the back-filled weeks."""
    with requests.Session() as http:
        http.post(f"{url}/api/v1/login", json={"username": "regional", "password": PASSWORD}, timeout=10).raise_for_status()
        daily = {}
        for plan in PLANS:
            r = http.get(f"{url}/api/v1/stores/{plan.store_id}/daily", params={"date": day.isoformat()}, timeout=30)
            r.raise_for_status()
            daily[plan.store_id] = r.json()
        r = http.get(f"{url}/api/v1/regions/{REGION}/compare", params={"from": day.isoformat(), "to": day.isoformat()},
                     timeout=30)
        r.raise_for_status()
        weeks = http.get(f"{url}/api/v1/regions/{REGION}/compare", timeout=30, params={
            "from": (day - timedelta(days=HISTORY_DAYS)).isoformat(), "to": day.isoformat()})
        weeks.raise_for_status()
        return daily, r.json(), weeks.json()


def _f(v: object, fmt: str = "{:.2f}") -> str:
    return "-" if v is None else fmt.format(v) if isinstance(v, float) else str(v)


def summary_text(plan: StorePlan, terminal: TerminalDay, daily: dict) -> str:
    fig = daily["figures"]
    lines = [f"{plan.name} ({plan.store_id}), {daily['date']}: {daily['status']}",
             f"  interactions {_f(fig['interactions'])} (terminal measured {len(terminal.interactions)}), "
             f"greeted {_f(fig['greeted_share'], '{:.0%}')}, abandoned {_f(fig['abandoned_share'], '{:.0%}')}, "
             f"greeted within target {_f(fig['greeted_within_target_share'], '{:.0%}')}",
             f"  greeting p50/p90 {_f(fig['greeting_p50_s'], '{:.1f}')}/{_f(fig['greeting_p90_s'], '{:.1f}')} s, "
             f"wait p50/p90 {_f(fig['wait_p50_s'], '{:.1f}')}/{_f(fig['wait_p90_s'], '{:.1f}')} s, "
             f"mutual facing {_f(fig['eye_contact_ratio'])}, distance p50 {_f(fig['distance_p50_m'])} m "
             f"({daily.get('distance_band') or '-'})",
             f"  ratings (1-4): {daily['ratings']}, mean {_f(fig['rating_mean'])}; "
             f"criteria met: " + ", ".join(f"{c['criterion']} {_f(c['share'], '{:.0%}')}"
                                            for c in daily.get("criteria", []))]
    return "\n".join(lines)


def comparison_text(compare: dict) -> str:
    rows = [f"  {'rank':>4}  {'store':<14} {'n':>4} {'greeted':>8} {'wait p90 s':>10} {'facing':>7} {'rating':>7}"]
    for row in compare["stores"]:
        f = row["figures"]
        rows.append(f"  {_f(row['rank']):>4}  {row['store']['id']:<14} {_f(f['interactions']):>4} "
                    f"{_f(f['greeted_share'], '{:.0%}'):>8} {_f(f['wait_p90_s'], '{:.1f}'):>10} "
                    f"{_f(f['eye_contact_ratio']):>7} {_f(f['rating_mean']):>7}"
                    + (f"  outlier: {', '.join(row['outliers'])}" if row["outliers"] else ""))
    return "\n".join(rows)


def run_demo(workdir: Path, *, wait: bool = True, port: int | None = None,
             real_people: Callable[[str, Settings], list[Interaction]] | None = None,
             say: Callable[[str], None] = print) -> tuple[dict[str, TerminalDay], dict[str, dict], dict, dict]:
    """Run the demo in ``workdir`` (emptied first). Returns what the terminals measured and what the dashboard
    shows: the daily summaries, the day's comparison and the comparison over the back-filled weeks.

    Raises:
        FileNotFoundError: not run from a source checkout (the scripted scenes are not installed with the wheel).
        KeyboardInterrupt: stopped by Ctrl+C or SIGTERM (:mod:`kiosk.demo.stopping`) before the dashboard was
            reached; the server and workers are stopped by then.
    """
    if not SCENES.is_dir():
        raise FileNotFoundError(f"the demo plays the scripted scenes of a source checkout and {SCENES} is missing: "
                                "run it from a clone of the repository (`make demo`)")
    with stop_on_signals():
        return _run_demo(workdir, wait=wait, port=port, real_people=real_people, say=say)


def _run_demo(workdir: Path, *, wait: bool, port: int | None,
              real_people: Callable[[str, Settings], list[Interaction]] | None,
              say: Callable[[str], None]) -> tuple[dict[str, TerminalDay], dict[str, dict], dict, dict]:
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    day = utc_now().date() - timedelta(days=1)
    say(f"[1/5] central server (SQLite in {workdir / 'central'}) starting on {url}")
    servers: list[subprocess.Popen] = []
    try:
        server = start_server(workdir, port, servers)
        STOP.check()
        say(f"[2/5] region '{REGION}' with {len(PLANS)} stores, their devices and the demo logins registered")
        tokens = register(workdir)
        STOP.check()
        settings = {p.store_id: terminal_settings(p, workdir, url, tokens[p.store_id]) for p in PLANS}
        say(f"[3/5] the {len(PLANS)} terminals measure their day (two at a time, one per core): "
            + "; ".join(f"{p.name}: {len(p.day)} scripted scenes"
                        + (f" + real people '{p.composed}'" if real_people and p.composed else "") for p in PLANS))
        pool = ProcessPoolExecutor(max_workers=2, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_quiet_native_logs, initargs=(str(workdir / "pipeline.log"),))
        try:
            futures = {p.store_id: pool.submit(measure_day, p, settings[p.store_id], real_people) for p in PLANS}
            terminals = {}
            for plan in PLANS:
                runs = STOP.result(futures[plan.store_id])
                terminals[plan.store_id] = t = record_day(plan, day, settings[plan.store_id], runs)
                STOP.check()
                say(f"      {plan.name}: {len(t.interactions)} interactions, {sum(t.ratings.values())} ratings, "
                    f"{t.reasons} follow-up answers stored, after {t.history_interactions} simulated interactions "
                    f"over the {HISTORY_DAYS} days before; {t.batches_sent} aggregate batch(es) synced")
        except BaseException:
            # Stopped half-way: do not wait minutes for the workers' scenes to finish.
            pool.shutdown(wait=False, cancel_futures=True)
            for child in multiprocessing.active_children():
                child.terminate()
            raise
        pool.shutdown()
        bank = next(p for p in PLANS if p.mood < 0)
        called = ManagerCaller(settings[bank.store_id], 5.0)(utc_now())
        say(f"      a customer at {bank.name} called a manager: "
            + ("the dashboard shows the call" if called else "the call did not reach the server"))
        STOP.check()
        say("[4/5] reading the dashboard's numbers")
        daily, compare, weeks = fetch_reports(url, day)
        STOP.check()
        say("[5/5] daily summaries and the regional comparison\n")
        for plan in PLANS:
            say(summary_text(plan, terminals[plan.store_id], daily[plan.store_id]) + "\n")
        say(f"Region {REGION}, {day}:\n" + comparison_text(compare) + "\n")
        say(f"Region {REGION}, {weeks['date_from']} to {weeks['date_to']} (with the back-filled weeks):\n"
            + comparison_text(weeks) + "\n")
        if wait:
            say(f"Dashboard: {url}/  (logins, password '{PASSWORD}': regional, admin, "
                + ", ".join(f"manager-{p.store_id.split('-')[1]}" for p in PLANS) + ")\nCtrl+C stops it.")
            try:
                STOP.wait(server)
            except KeyboardInterrupt:
                say("\nstopping")
        return terminals, daily, compare, weeks
    finally:
        for proc in servers:
            stop_server(proc)
