"""The fonts the terminal draws with: one for Latin and Cyrillic, one for Persian (Arabic script).

Kivy's default font (Roboto) has neither Cyrillic nor Arabic letters, so the app always names a font. The fonts
come from Debian packages that ``scripts/setup.sh`` installs (``scripts/system-packages.txt``):
``fonts-noto-core`` (Noto Sans, Noto Sans Arabic) first, ``fonts-dejavu-core`` (DejaVu Sans covers Latin,
Cyrillic and Arabic presentation forms) as the fallback. The Arabic-script Noto font has no Latin letters,
parentheses or bullets; the catalogue avoids them in Persian and a test checks every string against its font.

No Kivy import here: the app passes these paths as ``font_name``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

FONT_DIRS: tuple[Path, ...] = (
    Path("/usr/share/fonts/truetype/noto"),
    Path("/usr/share/fonts/truetype/dejavu"),
    Path("/usr/local/share/fonts"),
)

# role -> candidate file names, best first (Debian package in the comment)
CANDIDATES: dict[str, tuple[str, ...]] = {
    "latin": ("NotoSans-Regular.ttf", "DejaVuSans.ttf"),           # fonts-noto-core | fonts-dejavu-core
    "latin_bold": ("NotoSans-Bold.ttf", "DejaVuSans-Bold.ttf"),
    "arabic": ("NotoSansArabic-Regular.ttf", "DejaVuSans.ttf"),
    "arabic_bold": ("NotoSansArabic-Bold.ttf", "DejaVuSans-Bold.ttf"),
}
DEBIAN_PACKAGES = ("fonts-noto-core", "fonts-dejavu-core")


class FontsMissingError(RuntimeError):
    """No usable font for a script; the message names the Debian packages to install."""


@dataclass(frozen=True)
class FontSet:
    """Font files by role: ``latin`` (also Cyrillic), ``arabic`` (Persian), and their bold faces."""

    latin: Path
    latin_bold: Path
    arabic: Path
    arabic_bold: Path

    def for_language(self, lang: str, *, bold: bool = False) -> Path:
        """The font that covers ``lang``'s script (``fa`` -> Arabic script; ``ru``, ``en`` -> Latin/Cyrillic)."""
        if lang == "fa":
            return self.arabic_bold if bold else self.arabic
        return self.latin_bold if bold else self.latin


def find_fonts(dirs: Sequence[Path] = FONT_DIRS) -> FontSet:
    """Locate the font files, best candidate first.

    Raises:
        FontsMissingError: naming the role and the Debian packages that provide it.
    """
    found: dict[str, Path] = {}
    for role, names in CANDIDATES.items():
        for name in names:
            hit = next((d / name for d in dirs if (d / name).is_file()), None)
            if hit is not None:
                found[role] = hit
                break
        else:
            raise FontsMissingError(
                f"no font for {role!r} text (looked for {', '.join(names)} in {', '.join(map(str, dirs))}); "
                f"install the Debian packages {' and '.join(DEBIAN_PACKAGES)} (scripts/setup.sh does, as root)"
            )
    if found["arabic"].name.startswith("DejaVu"):
        log.info("Noto Sans Arabic not found; Persian is drawn with DejaVu Sans (install fonts-noto-core)")
    return FontSet(**found)
