"""The one reader of TOML files (settings, calibration, rubrics, scenes, the cut-out catalogue).

A file that is missing, unreadable or not TOML raises the caller's own error type, with a message naming the
file, what it was meant to be, and why it cannot be read.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any


def read_toml(path: Path | str, what: str, error: type[Exception]) -> dict[str, Any]:
    """The tables of the TOML file at ``path``.

    Args:
        path: the file.
        what: what the file is, for the message ("settings file", "scene file", ...).
        error: the exception type to raise (``ConfigError``, ``SceneError``, ...).

    Raises:
        error: "<what> <path> does not exist", "... cannot be read: <why>" or "... is not valid TOML: <where>".

    Example:
        >>> read_toml("kiosk.toml", "settings file", ConfigError)["store"]["store_id"]
        'branch-12'
    """
    try:
        return tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise error(f"{what} {path} does not exist") from None
    except OSError as exc:
        raise error(f"{what} {path} cannot be read: {exc.strerror or exc}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise error(f"{what} {path} is not valid TOML: {exc}") from None
