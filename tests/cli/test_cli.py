"""The `kiosk` command as an installer meets it: options before or after the command, --version, python -m kiosk,
help pages that explain every command and argument, `set-pin` and `outbox`."""

from __future__ import annotations

import argparse
import os
import stat
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from kiosk import __version__
from kiosk.cli.commands import build_parser, main
from kiosk.settings.tree import load_settings
from kiosk.device.database import Store
from kiosk.device.sync import fill_outbox
from kiosk.settings.pin import verify_pin

from tests.storekit import T0, ended, served, settings as store_settings

ROOT = Path(__file__).resolve().parents[2]


def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    [action] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(action.choices)


@pytest.mark.parametrize("argv", [["--config", "k.toml", "run"], ["run", "--config", "k.toml"]])
def test_config_is_taken_before_or_after_the_command(argv):
    assert build_parser().parse_args(argv).config == Path("k.toml")


def test_config_after_the_command_wins_over_none_before_it_and_verbose_works_either_side():
    args = build_parser().parse_args(["-v", "doctor", "--config", "k.toml"])
    assert args.config == Path("k.toml") and args.verbose
    assert build_parser().parse_args(["doctor", "-v"]).verbose


def test_python_dash_m_kiosk_prints_the_version():
    out = subprocess.run([sys.executable, "-m", "kiosk", "--version"], capture_output=True, text=True, timeout=60,
                         cwd=ROOT, check=False)
    assert out.returncode == 0 and out.stdout.strip() == f"kiosk {__version__}"


def test_every_command_has_a_description_and_every_argument_a_help_text():
    for name, sub in subcommands(build_parser()).items():
        assert sub.description and len(sub.description) > 30, name
        for action in sub._actions:
            if isinstance(action, argparse._SubParsersAction):
                for inner_name, inner in action.choices.items():
                    assert inner.description, f"{name} {inner_name}"
                    for a in inner._actions:
                        assert a.help, f"{name} {inner_name} {a.dest}"
            else:
                assert action.help, f"{name} {action.dest}"


# ---- set-pin ----------------------------------------------------------------------------------------------------

@pytest.fixture
def config(tmp_path: Path) -> Path:
    f = tmp_path / "kiosk.toml"
    f.write_text(f'# the counter at Market Street\n[store]\ndata_dir = "{tmp_path / "data"}"  # data partition\n'
                 '\n[sync]\ndevice_token = "secret"\n')
    f.chmod(0o640)
    return f


def answers(monkeypatch: pytest.MonkeyPatch, *typed: str) -> None:
    it = iter(typed)
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(it))


def test_set_pin_asks_twice_and_writes_only_the_hash_keeping_comments_and_mode(config, monkeypatch, capsys):
    answers(monkeypatch, "482916", "482916")
    assert main(["set-pin", "--config", str(config)]) == 0
    text = config.read_text()
    assert "482916" not in text and "# the counter at Market Street" in text and "# data partition" in text
    assert verify_pin("482916", load_settings(config).terminal.staff_pin_hash)
    assert stat.S_IMODE(config.stat().st_mode) == 0o640  # it holds the device token
    assert "restart" in capsys.readouterr().out


def test_set_pin_with_two_different_answers_changes_nothing(config, monkeypatch, capsys):
    before = config.read_text()
    answers(monkeypatch, "482916", "482917")
    assert main(["set-pin", "--config", str(config)]) == 3
    assert config.read_text() == before and "differ" in capsys.readouterr().err


def test_set_pin_refuses_a_pin_that_is_not_digits_without_echoing_it(config, monkeypatch, capsys):
    answers(monkeypatch, "12ab", "12ab")
    assert main(["set-pin", "--config", str(config)]) == 3
    err = capsys.readouterr().err
    assert "4-12 digits" in err and "12ab" not in err


def test_set_pin_needs_the_settings_file(capsys):
    assert main(["set-pin"]) == 3 and "--config FILE set-pin" in capsys.readouterr().err


def test_set_pin_from_stdin_for_scripts(config, monkeypatch):
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO("5555\n"))
    assert main(["--config", str(config), "set-pin", "--pin-stdin"]) == 0
    assert verify_pin("5555", load_settings(config).terminal.staff_pin_hash)


def test_set_pin_leaves_no_temporary_file_behind(config, monkeypatch):
    answers(monkeypatch, "482916", "482916")
    main(["set-pin", "--config", str(config)])
    assert sorted(p.name for p in config.parent.iterdir()) == ["kiosk.toml"]


# ---- outbox -----------------------------------------------------------------------------------------------------

def queued_and_refused(data_dir: Path) -> None:
    with Store.in_data_dir(data_dir) as store:
        for i in range(5):
            store.add_interaction(served(), ended(T0.replace(minute=i)))
        fill_outbox(store, store_settings(data_dir), T0 + timedelta(days=1))
        [batch] = store.pending_batches()
        store.mark_failed(batch.batch_id, "HTTP 422: rows[0].interactions: too small", datetime(2025, 3, 5, tzinfo=UTC))


def test_outbox_lists_the_refused_batch_with_the_servers_message(config, tmp_path, capsys):
    queued_and_refused(tmp_path / "data")
    assert main(["outbox", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "0 waiting, 0 sent (last never), 1 set aside" in out
    assert "HTTP 422: rows[0].interactions: too small" in out and "--requeue-failed" in out


def test_outbox_requeue_failed_puts_the_batch_back_in_the_queue(config, tmp_path, capsys):
    queued_and_refused(tmp_path / "data")
    assert main(["outbox", "--requeue-failed", "--config", str(config)]) == 0
    assert "1 batch(es) put back" in capsys.readouterr().out
    with Store.in_data_dir(tmp_path / "data") as store:
        assert len(store.pending_batches()) == 1 and store.failed_batches() == []


def test_outbox_without_a_database_says_nothing_is_queued_and_creates_none(config, tmp_path, capsys):
    assert main(["outbox", "--config", str(config)]) == 0
    assert "nothing queued" in capsys.readouterr().out and not (tmp_path / "data").exists()
