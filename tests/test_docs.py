"""Documentation stays true: every setting is described and the settings reference is current."""

from __future__ import annotations

from pathlib import Path

from kiosk.settings.doc import settings_markdown, settings_rows

ROOT = Path(__file__).resolve().parents[1]


def test_every_setting_has_a_description():
    assert [key for key, _, desc in settings_rows() if not desc] == []


def test_settings_reference_is_current():
    # Regenerate with: .venv/bin/python -m kiosk.settings.doc > docs/SETTINGS.md
    assert (ROOT / "docs" / "SETTINGS.md").read_text(encoding="utf-8") == settings_markdown()


def test_readme_shows_the_two_commands():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "make demo" in readme and "make test" in readme
