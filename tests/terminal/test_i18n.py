"""Every text in every language can be drawn with the font the app picks, and Persian is shaped and RTL."""

from __future__ import annotations

import string
import subprocess
import sys
import unicodedata
from functools import cache

import pytest
from fontTools.ttLib import TTFont

from kiosk.terminal.fonts import FontsMissingError, find_fonts
from kiosk.terminal.i18n import (
    CATALOGUE,
    LANGUAGES,
    NATIVE_NAMES,
    display,
    localise_number,
    shape_line,
    text,
    wrap_rtl,
)


@cache
def cmap(path: str) -> frozenset[int]:
    return frozenset(TTFont(path, lazy=True).getBestCmap())


def test_every_key_has_every_language_and_the_same_fields():
    for key, entry in CATALOGUE.items():
        assert set(entry) == set(LANGUAGES), key
        fields = {lang: sorted(f[1] for f in string.Formatter().parse(s) if f[1]) for lang, s in entry.items()}
        assert len({tuple(v) for v in fields.values()}) == 1, (key, fields)


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("bold", [False, True])
def test_every_string_has_glyphs_in_its_font(lang, bold):
    font = str(find_fonts().for_language(lang, bold=bold))
    missing = {}
    for key in CATALOGUE:
        names = {f[1] for f in string.Formatter().parse(CATALOGUE[key][lang]) if f[1]}
        shown = display(text(key, lang, **dict.fromkeys(names, 1234567890)), lang)
        gaps = sorted({c for c in shown if not c.isspace() and ord(c) not in cmap(font)})
        if gaps:
            missing[key] = [f"U+{ord(c):04X} {unicodedata.name(c, '?')}" for c in gaps]
    name = NATIVE_NAMES[lang]
    missing.update({"native name": [c for c in name if ord(c) not in cmap(font)]} if any(
        ord(c) not in cmap(font) for c in name) else {})
    assert missing == {}


def test_persian_is_shaped_and_reordered():
    shown = shape_line("سلام دنیا")
    assert all(not (0x0600 <= ord(c) <= 0x06FF) for c in shown if not c.isspace())  # presentation forms only
    assert shown == "ﺎﯿﻧﺩ ﻡﻼﺳ"  # visual order: the first word is on the right
    assert "\u200c" not in shape_line("می‌کند")


def test_persian_numbers_use_persian_digits_and_stay_left_to_right():
    assert text("wait_upto", "fa", n=15) == "زمان انتظار: تا ۱۵ دقیقه"
    assert "۱۵" in display(text("wait_upto", "fa", n=15), "fa")
    assert localise_number(2.5, "fa") == "۲.۵" and localise_number(7, "ru") == "7"


def test_rtl_wrapping_breaks_lines_before_reordering():
    lines = wrap_rtl("یک دو سه چهار\nپنج", lambda s: len(s) <= 6)
    assert lines == ["یک دو", "سه", "چهار", "پنج"]


def test_unknown_keys_and_languages_are_named():
    with pytest.raises(KeyError, match="nope"):
        text("nope", "en")
    with pytest.raises(KeyError, match="'de'"):
        text("welcome", "de")


def test_missing_fonts_name_the_debian_packages(tmp_path):
    with pytest.raises(FontsMissingError, match="fonts-noto-core"):
        find_fonts([tmp_path])


def test_the_terminal_core_loads_no_ui_or_pixel_library():
    mods = ", ".join(["kiosk.settings.terminal", "kiosk.settings.pin", "kiosk.device.feed"] + [f"kiosk.terminal.{m}" for m in (
        "fakefeed", "ratings", "wait", "i18n", "fonts", "staffstatus", "zone_drawing", "workers")])
    code = f"import sys, {mods}; print([m for m in ('kivy', 'cv2', 'mediapipe') if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
