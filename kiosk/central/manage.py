"""Functions behind ``kiosk serve`` and ``kiosk central add-region|add-store|add-device|add-user``.

Each opens the database named by the settings (migrating it first, so a fresh install just works), does one
thing, commits, and returns what the CLI should print. Errors are ``ValueError`` with a readable message; the
CLI turns them into an exit code.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
from collections.abc import Iterator, Sequence
from pathlib import Path

from sqlalchemy.orm import Session

from kiosk.central import crud, db
from kiosk.settings.central import CentralSettings

log = logging.getLogger(__name__)


def central_settings(
    db_url: str | None = None, data_dir: Path | str | None = None, host: str | None = None, port: int | None = None,
    base: CentralSettings | None = None,
) -> CentralSettings:
    """``base`` (the [central] settings, defaults when None) with the CLI arguments given on top, validated again."""
    given = {"db_url": db_url, "data_dir": Path(data_dir) if data_dir else None, "host": host, "port": port}
    start = (base or CentralSettings()).model_dump()
    return CentralSettings.model_validate({**start, **{k: v for k, v in given.items() if v is not None}})


LOOPBACK_NAMES = ("localhost",)


def is_loopback(host: str) -> bool:
    """True for an address only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


def check_bind(settings: CentralSettings, uds: str | None = None) -> None:
    """Refuse to serve a network address with cookies that travel in clear text, or no name clients could use.

    Raises:
        ValueError: naming the setting that fixes it.
    """
    if uds is not None or is_loopback(settings.host):
        return
    if not settings.cookie_secure and not settings.allow_plain_http:
        raise ValueError(
            f"refusing to serve {settings.host}:{settings.port} with central.cookie_secure off: sign-in cookies would "
            "cross the network in clear text. Serve HTTPS (a TLS proxy) and set cookie_secure = true, bind 127.0.0.1 "
            "behind the proxy, or set central.allow_plain_http = true to accept the risk")
    if all(is_loopback(h) for h in settings.trusted_hosts):
        raise ValueError(
            f"serving {settings.host} but central.trusted_hosts lists only loopback names "
            f"({', '.join(settings.trusted_hosts)}): add the host name clients use, e.g. kiosk.example.com")


@contextlib.contextmanager
def database(settings: CentralSettings) -> Iterator[Session]:
    engine = db.make_engine(settings)
    try:
        db.migrate(engine)
        with db.session_factory(engine)() as session:
            yield session
            session.commit()
    finally:
        engine.dispose()


def add_region(settings: CentralSettings, region_id: str, name: str | None = None) -> str:
    with database(settings) as s:
        crud.create_region(s, region_id, name)
    return f"region {region_id} added"


def add_store(settings: CentralSettings, store_id: str, region_id: str, name: str | None = None, timezone: str = "UTC") -> str:
    with database(settings) as s:
        crud.create_store(s, store_id, region_id, name, timezone)
    return f"store {store_id} added to region {region_id} ({timezone})"


def add_device(settings: CentralSettings, device_id: str, store_id: str) -> str:
    """Register a device; returns its bearer token, to print once (the server keeps only its hash)."""
    with database(settings) as s:
        _, token = crud.create_device(s, device_id, store_id)
    return token


def add_user(
    settings: CentralSettings,
    username: str,
    password: str,
    role: str,
    store_id: str | None = None,
    region_ids: Sequence[str] = (),
) -> str:
    with database(settings) as s:
        crud.create_user(s, username, password, role, store_id=store_id, region_ids=list(region_ids))
    return f"user {username} added ({role})"


def revoke_device(settings: CentralSettings, device_id: str) -> str:
    with database(settings) as s:
        crud.revoke_device(s, device_id)
    return f"device {device_id} revoked: its token is refused from now on (rotate-device-token re-activates it)"


def rotate_device_token(settings: CentralSettings, device_id: str) -> str:
    """A new token for the device (returned, to print once); the old one stops working."""
    with database(settings) as s:
        return crud.rotate_device_token(s, device_id)


def set_user_disabled(settings: CentralSettings, username: str, disabled: bool) -> str:
    with database(settings) as s:
        crud.set_user_disabled(s, username, disabled)
    return f"user {username} disabled and signed out everywhere" if disabled else f"user {username} enabled"


def reset_password(settings: CentralSettings, username: str, password: str) -> str:
    with database(settings) as s:
        crud.reset_password(s, username, password)
    return f"password of {username} reset; their sessions are ended"


def end_sessions(settings: CentralSettings, username: str) -> str:
    with database(settings) as s:
        n = crud.end_sessions(s, username)
    return f"{n} session(s) of {username} ended"


def serve(settings: CentralSettings, uds: str | None = None) -> None:
    """Run the server until interrupted (blocks). ``uds``: listen on a Unix socket instead of host:port."""
    import uvicorn

    from kiosk.central.app import create_app

    check_bind(settings, uds)
    app = create_app(settings)
    log.info("kiosk central on %s (%s)", uds or f"http://{settings.host}:{settings.port}", app.state.engine.dialect.name)
    uvicorn.run(app, host=settings.host, port=settings.port, uds=uds, log_level="info", proxy_headers=False)
