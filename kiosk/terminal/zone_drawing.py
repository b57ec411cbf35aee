"""Zones drawn on the staff screen's live view -> the ``[[camera.zones]]`` TOML the settings file takes.

Pure helpers: mapping a touch on the displayed picture to image pixels, and writing the zones file. The file
goes to ``<store.data_dir>/zones.toml``; copy its tables into the settings file (or include them in the
settings the terminal loads) and restart.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from kiosk.vocabulary import ZONES

ZONES_FILENAME = "zones.toml"


@dataclass(frozen=True)
class DrawnZone:
    """A named polygon in image pixels (x right, y down), three or more corners."""

    name: str
    polygon_px: tuple[tuple[float, float], ...]

    def __post_init__(self) -> None:
        if self.name not in ZONES:
            raise ValueError(f"DrawnZone.name must be one of {ZONES}, got {self.name!r}")
        if len(self.polygon_px) < 3:
            raise ValueError(f"DrawnZone.polygon_px needs 3 or more corners, got {len(self.polygon_px)}")


def view_to_image(x: float, y: float, view: tuple[float, float, float, float], image_size: tuple[int, int]
                  ) -> tuple[float, float] | None:
    """A touch at window point (x, y) on a picture drawn in ``view`` = (left, bottom, width, height), of an image
    ``image_size`` = (width, height) px -> image pixel (x right, y down), or None outside the picture."""
    left, bottom, w, h = view
    if w <= 0 or h <= 0 or not (left <= x <= left + w and bottom <= y <= bottom + h):
        return None
    iw, ih = image_size
    return round((x - left) / w * iw, 1), round((1 - (y - bottom) / h) * ih, 1)


def image_to_view(px: float, py: float, view: tuple[float, float, float, float], image_size: tuple[int, int]
                  ) -> tuple[float, float]:
    """The inverse of :func:`view_to_image`: image pixel -> window point."""
    left, bottom, w, h = view
    iw, ih = image_size
    return left + px / iw * w, bottom + (1 - py / ih) * h


def zones_toml(zones: Sequence[DrawnZone]) -> str:
    """``[[camera.zones]]`` tables for ``zones``, in the settings file's format."""
    out = ["# Drawn on the terminal's staff screen. Copy into the settings file under [camera]; restart.\n"]
    for z in zones:
        pts = ", ".join(f"[{x:g}, {y:g}]" for x, y in z.polygon_px)
        out.append(f'[[camera.zones]]\nname = "{z.name}"\npolygon_px = [{pts}]\n')
    return "\n".join(out)


def save_zones(zones: Sequence[DrawnZone], data_dir: Path) -> Path:
    """Write :func:`zones_toml` to ``data_dir/zones.toml`` (atomically) and return the path."""
    path = Path(data_dir) / ZONES_FILENAME
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".toml.tmp")
    tmp.write_text(zones_toml(zones), encoding="utf-8")
    tmp.replace(path)
    return path
