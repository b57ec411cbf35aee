"""The sync client (kiosk.device.sync) against a real local HTTP(S) server (tests/syncserver.py)."""

from __future__ import annotations

import shutil
import ssl
import subprocess
import time
from datetime import timedelta
from pathlib import Path

import pytest
import requests

from kiosk.device import sync as sync_module
from kiosk.settings.tree import SyncSettings
from kiosk.device.database import StorageFullError, Store
from kiosk.device.sync import (
    ServerUnreachableError,
    SyncConfigError,
    SyncLoop,
    TokenRejectedError,
    build_session,
    fill_outbox,
    run_sync,
    sync_once,
)
from tests.storekit import T0, ended, served, settings
from tests.syncserver import Reply, SyncServer

DAY = timedelta(days=1)


def terminal(tmp_path: Path, days: int = 1, hours: tuple[int, ...] = (9,), batch_size: int = 200) -> Store:
    """A store with ``days`` closed days of 5 customers in each of ``hours``, queued in the outbox."""
    store = Store.in_data_dir(tmp_path)
    for day in range(days):
        for hour in hours:
            for i in range(5):
                store.add_interaction(served(), ended(T0.replace(hour=hour, minute=i) + day * DAY))
    fill_outbox(store, settings(tmp_path, batch_size=batch_size), T0 + (days + 1) * DAY)
    return store


def test_pending_batches_are_posted_and_marked_sent(tmp_path: Path) -> None:
    store = terminal(tmp_path, days=3, batch_size=1)
    with SyncServer() as server:
        report = sync_once(store, settings(tmp_path, server.url))
    assert (report.sent, report.pending, len(server.applied)) == (3, 0, 3)
    assert {b.batch_id for b in store.sent_batches()} == set(server.applied)


def test_report_counts_aggregates_and_bytes(tmp_path: Path) -> None:
    store = terminal(tmp_path, hours=(9, 10))
    with SyncServer() as server:
        report = sync_once(store, settings(tmp_path, server.url))
    assert (report.aggregates_sent, report.bytes_sent) == (2, len(server.bodies[0]))


def test_each_batch_is_sent_with_the_same_bytes_as_stored(tmp_path: Path) -> None:
    store = terminal(tmp_path)
    stored = store.pending_batches()[0].payload
    with SyncServer() as server:
        sync_once(store, settings(tmp_path, server.url))
    assert server.bodies == [stored]


def test_nothing_pending_sends_nothing(tmp_path: Path) -> None:
    with Store.in_data_dir(tmp_path) as store, SyncServer() as server:
        report = sync_once(store, settings(tmp_path, server.url))
    assert (report.sent, server.bodies) == (0, [])


def test_rejected_token_stops_with_an_actionable_error_and_keeps_the_outbox(tmp_path: Path) -> None:
    store = terminal(tmp_path, days=2, batch_size=1)
    with SyncServer(token="another-token") as server, pytest.raises(TokenRejectedError, match="re-register"):
        sync_once(store, settings(tmp_path, server.url))
    assert len(store.pending_batches()) == 2
    assert len(server.attempts) == 1  # stopped at the first refusal, did not try the second batch


def test_malformed_batch_is_set_aside_and_the_rest_still_go(tmp_path: Path) -> None:
    store = terminal(tmp_path, days=3, batch_size=1)
    with SyncServer() as server:
        server.script(Reply(status=422))
        report = sync_once(store, settings(tmp_path, server.url))
    assert (report.sent, report.failed, report.pending) == (2, 1, 0)
    assert "HTTP 422" in store.failed_batches()[0].error  # type: ignore[operator]


def test_set_aside_batch_is_not_resent_next_round(tmp_path: Path) -> None:
    store = terminal(tmp_path)
    with SyncServer() as server:
        server.script(Reply(status=422))
        sync_once(store, settings(tmp_path, server.url))
        sync_once(store, settings(tmp_path, server.url))
    assert len(server.attempts) == 1


def test_unknown_endpoint_names_the_setting_to_check(tmp_path: Path) -> None:
    store = terminal(tmp_path)
    with SyncServer() as server, pytest.raises(Exception, match="check sync.server_url"):
        sync_once(store, settings(tmp_path, server.url + "/wrong-prefix"))
    assert len(store.pending_batches()) == 1


def test_empty_device_token_is_refused_before_sending(tmp_path: Path) -> None:
    with pytest.raises(SyncConfigError, match="KIOSK_SYNC__DEVICE_TOKEN"):
        build_session(SyncSettings(device_token=""))


def test_missing_ca_bundle_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SyncConfigError, match="sync.ca_bundle"):
        build_session(SyncSettings(device_token="t", ca_bundle=tmp_path / "nope.pem"))


def test_plain_http_to_another_machine_is_refused() -> None:
    with pytest.raises(SyncConfigError, match="sync.allow_plain_http"):
        build_session(SyncSettings(device_token="t", server_url="http://central.example:8000"))


@pytest.mark.parametrize("url", ["http://127.0.0.1:8000", "http://localhost:8000", "http://[::1]:8000",
                                 "https://central.example"])
def test_loopback_http_and_https_are_accepted(url: str) -> None:
    build_session(SyncSettings(device_token="t", server_url=url)).close()


def test_plain_http_to_another_machine_when_explicitly_allowed() -> None:
    build_session(SyncSettings(device_token="t", server_url="http://10.0.0.5:8000", allow_plain_http=True)).close()


def test_session_verifies_tls_and_sends_the_bearer_token() -> None:
    session = build_session(SyncSettings(device_token="secret"))
    assert session.verify is True
    prepared = session.prepare_request(requests.Request("POST", "https://central.example/api/v1/aggregates"))
    assert prepared.headers["Authorization"] == "Bearer secret"


# ---- TLS against a real HTTPS server --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed; it makes the test server's certificate")
    d = tmp_path_factory.mktemp("tls")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(d / "key.pem"), "-out", str(d / "cert.pem")],
        check=True, capture_output=True, timeout=60,
    )
    return d / "cert.pem", d / "key.pem"


def tls_context(cert: Path, key: Path) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    return ctx


def test_unknown_certificate_is_refused_with_a_ca_bundle_hint(tmp_path: Path, certificate: tuple[Path, Path]) -> None:
    store = terminal(tmp_path)
    with SyncServer(tls=tls_context(*certificate)) as server:
        with pytest.raises(ServerUnreachableError, match="set sync.ca_bundle"):
            sync_once(store, settings(tmp_path, server.url, retries=0))
        assert server.applied == {}


def test_ca_bundle_lets_a_private_certificate_through(tmp_path: Path, certificate: tuple[Path, Path]) -> None:
    store = terminal(tmp_path)
    with SyncServer(tls=tls_context(*certificate)) as server:
        cfg = settings(tmp_path, server.url)
        cfg = cfg.model_copy(update={"sync": cfg.sync.model_copy(update={"ca_bundle": certificate[0]})})
        assert sync_once(store, cfg).sent == 1
    assert len(server.applied) == 1


# ---- the app's loop and the CLI's one-shot --------------------------------------------------------------------

def test_loop_closes_days_sends_and_stops(tmp_path: Path) -> None:
    store = Store.in_data_dir(tmp_path)
    for i in range(5):
        store.add_interaction(served(), ended(T0.replace(minute=i)))
    with SyncServer() as server:
        loop = SyncLoop(store, settings(tmp_path, server.url), clock=lambda: T0 + 2 * DAY)
        loop.start()
        assert server.applied_event.wait(10)
        assert loop.stop(timeout_s=10)
    assert len(server.applied) == 1 and store.pending_batches() == []


def test_loop_keeps_the_error_and_survives_a_down_server(tmp_path: Path) -> None:
    store = terminal(tmp_path)
    loop = SyncLoop(store, settings(tmp_path, "http://127.0.0.1:9", retries=0), clock=lambda: T0 + 2 * DAY)
    loop.start()
    try:
        for _ in range(200):
            if loop.last_error is not None:
                break
            time.sleep(0.05)
    finally:
        assert loop.stop(timeout_s=10)
    assert isinstance(loop.last_error, ServerUnreachableError)
    assert len(store.pending_batches()) == 1


def test_loop_round_applies_retention(tmp_path: Path) -> None:
    store = terminal(tmp_path)
    with SyncServer() as server:
        SyncLoop(store, settings(tmp_path, server.url), clock=lambda: T0 + 60 * DAY).run_once()
    assert store.count_interactions() == 0


def test_loop_round_still_sends_and_raises_when_closing_days_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = terminal(tmp_path)

    def full_disk(*args: object, **kw: object) -> None:
        raise StorageFullError("the terminal database is full")

    monkeypatch.setattr(sync_module, "fill_outbox", full_disk)
    with SyncServer() as server, pytest.raises(StorageFullError):
        SyncLoop(store, settings(tmp_path, server.url), clock=lambda: T0 + 2 * DAY).run_once()
    assert len(server.applied) == 1 and store.pending_batches() == []


def test_run_sync_opens_the_data_dir_closes_days_and_sends(tmp_path: Path) -> None:
    with Store.in_data_dir(tmp_path) as store:
        for i in range(5):
            store.add_interaction(served(), ended(T0.replace(minute=i)))
    with SyncServer() as server:
        report = run_sync(settings(tmp_path, server.url), now=T0 + 2 * DAY)
    assert (report.sent, server.interactions_counted) == (1, 5)


def test_fill_waits_for_the_grace_after_midnight(tmp_path: Path) -> None:
    store = Store.in_data_dir(tmp_path)
    store.add_interaction(served(), ended(T0))
    midnight = T0.replace(hour=0) + DAY
    assert fill_outbox(store, settings(tmp_path, k=2), midnight + timedelta(minutes=30)).days == 0
    assert fill_outbox(store, settings(tmp_path, k=2), midnight + timedelta(hours=1)).days == 1
