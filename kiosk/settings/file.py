"""Changing one value of the settings file as a careful installer would by hand.

The file is edited with tomlkit, so its comments, order and layout stay as written; the result is validated as
settings before it replaces the old file (atomically, so a power cut leaves one or the other); and the new file
keeps the old one's mode and owner, because it holds the device token (0640, root:kiosk on a terminal).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import tomlkit

from kiosk.settings.tree import ConfigError, load_settings


def set_value(path: Path, section: str, key: str, value: Any) -> None:
    """Set ``[section] key = value`` in the settings file ``path`` (created if missing).

    Raises:
        kiosk.settings.tree.ConfigError: the file is not valid TOML, or would not be valid settings afterwards
            (the file is then left unchanged).
        OSError: the file or its folder cannot be written.
    """
    path = Path(path)
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    try:
        doc = tomlkit.parse(text)
    except tomlkit.exceptions.ParseError as exc:
        raise ConfigError(f"settings file {path} is not valid TOML: {exc}") from None
    table = doc.get(section)
    if table is None:
        table = tomlkit.table()
        doc[section] = table
    table[key] = value
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(tomlkit.dumps(doc))
            out.flush()
            os.fsync(out.fileno())
        load_settings(tmp)  # refuse to write a file the app would then refuse to start with
        if path.exists():
            st = path.stat()
            os.chmod(tmp, st.st_mode & 0o7777)
            if os.geteuid() == 0:
                os.chown(tmp, st.st_uid, st.st_gid)
        else:
            os.chmod(tmp, 0o640)  # it may come to hold the device token
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
