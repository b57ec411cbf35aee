"""The functions behind ``kiosk central add-*``: they migrate a fresh database and refuse what cannot work."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from kiosk.central import manage
from kiosk.central.app import create_app
from kiosk.settings.central import CentralSettings

from .helpers import NOW, aggregate, auth, batch, hour


def _org(settings: CentralSettings) -> str:
    manage.add_region(settings, "north", "North")
    manage.add_store(settings, "n1", "north", "Nordhafen", "Europe/Berlin")
    return manage.add_device(settings, "d-n1", "n1")


def test_token_printed_by_add_device_authenticates_ingest(settings: CentralSettings) -> None:
    token = _org(settings)
    app = create_app(settings, clock=lambda: NOW)
    with TestClient(app) as c:
        r = c.post("/api/v1/aggregates", json=batch("d-n1", [aggregate("n1", "d-n1", hour(NOW.date(), 9))]),
                   headers=auth(token))
    app.state.engine.dispose()
    assert r.status_code == 200


def test_added_user_can_sign_in(settings: CentralSettings) -> None:
    _org(settings)
    assert manage.add_user(settings, "mgr", "long enough pw", "manager", store_id="n1") == "user mgr added (manager)"
    app = create_app(settings)
    with TestClient(app) as c:
        r = c.post("/api/v1/login", json={"username": "mgr", "password": "long enough pw"})
    app.state.engine.dispose()
    assert r.json()["store_id"] == "n1"


@pytest.mark.parametrize("call, message", [
    (lambda s: manage.add_store(s, "x1", "nowhere"), "region 'nowhere' does not exist"),
    (lambda s: manage.add_store(s, "x1", "north", timezone="Mars/Olympus"), "not an IANA zone"),
    (lambda s: manage.add_device(s, "d-x", "nowhere"), "store 'nowhere' does not exist"),
    (lambda s: manage.add_device(s, "d-n1", "n1"), "device 'd-n1' already exists"),
    (lambda s: manage.add_region(s, "bad id!"), "region id 'bad id!'"),
    (lambda s: manage.add_user(s, "u", "long enough pw", "manager"), "a store manager needs store_id"),
    (lambda s: manage.add_user(s, "u", "long enough pw", "regional", region_ids=["nowhere"]), "region 'nowhere' does not exist"),
    (lambda s: manage.add_user(s, "u", "long enough pw", "admin", store_id="n1"), "an admin sees everything"),
    (lambda s: manage.add_user(s, "u", "short", "admin"), "at least 8 characters"),
    (lambda s: manage.add_user(s, "u", "long enough pw", "owner"), "'owner' is not a valid Role"),
], ids=["no region", "bad zone", "no store", "device twice", "bad id", "manager no store", "no such region",
        "admin with store", "short password", "unknown role"])
def test_refused_with_a_readable_message(settings: CentralSettings, call, message: str) -> None:  # type: ignore[no-untyped-def]
    _org(settings)
    with pytest.raises(ValueError, match=message):
        call(settings)


def test_default_database_is_sqlite_in_data_dir(tmp_path) -> None:  # type: ignore[no-untyped-def]
    s = manage.central_settings(data_dir=tmp_path / "var")
    manage.add_region(s, "north")
    assert (tmp_path / "var" / "central.sqlite").exists()


def test_settings_refuse_unknown_database_scheme() -> None:
    with pytest.raises(ValueError, match="db_url must start with sqlite or postgres"):
        manage.central_settings(db_url="mysql://x")


def test_sqlite_database_is_private_to_its_owner(tmp_path) -> None:  # type: ignore[no-untyped-def]
    s = manage.central_settings(data_dir=tmp_path / "var")
    manage.add_region(s, "north")
    modes = {p.name: p.stat().st_mode & 0o777 for p in (tmp_path / "var").iterdir()}
    assert modes["central.sqlite"] == 0o600 and set(modes.values()) == {0o600}


def test_existing_readable_database_is_tightened(tmp_path) -> None:  # type: ignore[no-untyped-def]
    s = manage.central_settings(data_dir=tmp_path)
    manage.add_region(s, "north")
    (tmp_path / "central.sqlite").chmod(0o644)
    manage.add_region(s, "south")
    assert (tmp_path / "central.sqlite").stat().st_mode & 0o777 == 0o600


def test_sqlite_commits_are_durable(settings: CentralSettings) -> None:
    from sqlalchemy import text

    from kiosk.central import db

    if not settings.database_url().startswith("sqlite"):
        pytest.skip("a SQLite pragma")
    engine = db.make_engine(settings)
    with engine.connect() as conn:
        level = conn.execute(text("PRAGMA synchronous")).scalar()
    engine.dispose()
    assert level == 2  # FULL
