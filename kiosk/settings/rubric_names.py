"""Which rubric ``store.rubric`` names: a shipped one (package data, ``kiosk/data/rubrics/*.toml``) or a file.

Settings validate the name with these; :mod:`kiosk.core.rubrics` loads and scores the rubric itself.
"""

from __future__ import annotations

import re
from importlib.resources import files

RUBRIC_NAME_PATTERN = r"^[a-z0-9_]{1,64}$"  # ``store.rubric`` is one of these names or the path of a TOML file


def shipped_rubrics() -> list[str]:
    """The names of the rubrics that ship with the package (``default``, ``bank_branch``, ...)."""
    folder = files("kiosk") / "data" / "rubrics"
    return sorted(f.name.removesuffix(".toml") for f in folder.iterdir() if f.name.endswith(".toml"))


def is_rubric_name(spec: str) -> bool:
    """Whether ``store.rubric`` names a shipped rubric (a bare name) rather than a file."""
    return re.fullmatch(RUBRIC_NAME_PATTERN, spec) is not None
