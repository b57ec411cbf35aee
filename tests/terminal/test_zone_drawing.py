"""Zones drawn on the live view map to image pixels and come out as valid ``[[camera.zones]]`` settings."""

from __future__ import annotations

import tomllib

import pytest

from kiosk.settings.tree import CameraSettings
from kiosk.terminal.zone_drawing import (
    DrawnZone,
    image_to_view,
    save_zones,
    view_to_image,
)

VIEW = (100.0, 50.0, 320.0, 240.0)   # picture drawn at x 100..420, y 50..290 (window, y up)
IMAGE = (640, 480)


@pytest.mark.parametrize("case, touch, expected", [
    ("top-left corner of the picture", (100, 290), (0, 0)),
    ("bottom-right", (420, 50), (640, 480)),
    ("middle", (260, 170), (320, 240)),
    ("outside", (99, 170), None),
])
def test_touch_to_image_pixel(case, touch, expected):
    assert view_to_image(*touch, VIEW, IMAGE) == expected, case


def test_round_trip():
    x, y = image_to_view(123.0, 321.0, VIEW, IMAGE)
    assert view_to_image(x, y, VIEW, IMAGE) == (123.0, 321.0)


def test_saved_zones_load_as_camera_settings(tmp_path):
    zones = [DrawnZone("service", ((1, 2), (30, 2), (30, 40))), DrawnZone("queue", ((5, 5), (9, 5), (9, 9), (5, 9)))]
    path = save_zones(zones, tmp_path)
    loaded = CameraSettings(**tomllib.loads(path.read_text())["camera"])
    assert [(z.name, len(z.polygon_px)) for z in loaded.zones] == [("service", 3), ("queue", 4)]


@pytest.mark.parametrize("name, corners, message", [("door", ((0, 0), (1, 0), (1, 1)), "name"),
                                                     ("queue", ((0, 0), (1, 1)), "3 or more")])
def test_bad_zones_are_refused(name, corners, message):
    with pytest.raises(ValueError, match=message):
        DrawnZone(name, corners)
