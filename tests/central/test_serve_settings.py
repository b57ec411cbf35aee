"""`kiosk --config FILE serve`: the server's settings come from the [central] table and $KIOSK_CENTRAL__*, strictly
validated, with k shared with the terminals; a network address without Secure cookies is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.cli import central as central_cli
from kiosk.central import manage
from kiosk.settings.central import CentralSettings
from kiosk.cli.commands import build_parser, main
from kiosk.settings.tree import ConfigError


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in [n for n in os.environ if n.startswith("KIOSK_")]:
        monkeypatch.delenv(name)


@pytest.fixture
def never_serve(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """uvicorn.run replaced: a refused start must never reach it; an allowed one is recorded, not run."""
    import uvicorn

    calls: list[object] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append(kw))
    return calls


def _serve_settings(tmp_path: Path, toml: str, *argv: str) -> CentralSettings:
    cfg = tmp_path / "central.toml"
    cfg.write_text(toml, encoding="utf-8")
    args = build_parser().parse_args(["--config", str(cfg), "serve", "--data-dir", str(tmp_path), *argv])
    return central_cli._settings(args)


def test_central_table_is_read(tmp_path: Path) -> None:
    s = _serve_settings(tmp_path, "[central]\ncookie_secure = true\nsession_ttl_s = 3600\n[central.alerts]\nmin_ratings = 3\n")
    assert (s.cookie_secure, s.session_ttl_s, s.alerts.min_ratings) == (True, 3600, 3)


def test_environment_overrides_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KIOSK_CENTRAL__SESSION_TTL_S", "600")
    monkeypatch.setenv("KIOSK_CENTRAL__THROTTLE__ACCOUNT_FREE_FAILURES", "3")
    s = _serve_settings(tmp_path, "[central]\nsession_ttl_s = 3600\n")
    assert (s.session_ttl_s, s.throttle.account_free_failures) == (600, 3)


def test_command_line_flags_win(tmp_path: Path) -> None:
    assert _serve_settings(tmp_path, "[central]\nport = 9000\n", "--port", "9100").port == 9100


def test_server_k_is_the_terminals_privacy_setting(tmp_path: Path) -> None:
    assert _serve_settings(tmp_path, "[privacy]\nmin_group_size = 8\n").min_group_size == 8


def test_k_cannot_be_set_apart_for_the_server(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="central.min_group_size is not a setting"):
        _serve_settings(tmp_path, "[central]\nmin_group_size = 2\n")


@pytest.mark.parametrize("toml, fragment", [
    ("[central]\ncookie_secur = true\n", "central.cookie_secur"),
    ("[central]\nsession_ttl_s = 5\n", "central.session_ttl_s"),
    ("[central]\ntrusted_origins = ['evil.example']\n", "scheme://host"),
], ids=["typo", "out-of-range", "bad-origin"])
def test_bad_central_settings_are_refused_by_name(tmp_path: Path, toml: str, fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment):
        _serve_settings(tmp_path, toml)


def test_non_loopback_without_secure_cookies_is_refused(tmp_path: Path, never_serve: list[object],
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text("[central]\ntrusted_hosts = ['kiosk.example.com']\n", encoding="utf-8")
    code = main(["--config", str(cfg), "serve", "--data-dir", str(tmp_path), "--host", "0.0.0.0"])
    assert code == 3 and never_serve == []
    assert "cookie_secure" in capsys.readouterr().err


def test_non_loopback_with_only_loopback_hosts_is_refused(never_serve: list[object]) -> None:
    s = CentralSettings(host="0.0.0.0", cookie_secure=True)
    with pytest.raises(ValueError, match="trusted_hosts"):
        manage.serve(s)
    assert never_serve == []


@pytest.mark.parametrize("update", [{"cookie_secure": True}, {"allow_plain_http": True}], ids=["secure", "allowed"])
def test_non_loopback_serves_when_secure_or_allowed(tmp_path: Path, never_serve: list[object], update: dict) -> None:  # type: ignore[type-arg]
    s = CentralSettings(host="0.0.0.0", data_dir=tmp_path, trusted_hosts=("kiosk.example.com",), **update)
    manage.serve(s)
    assert never_serve and never_serve[0]["host"] == "0.0.0.0"  # type: ignore[index]


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "localhost"])
def test_loopback_serves_without_secure_cookies(host: str) -> None:
    manage.check_bind(CentralSettings(host=host))
