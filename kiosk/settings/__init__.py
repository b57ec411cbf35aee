"""The one settings tree of terminal and server: strict pydantic sections, read from TOML + KIOSK_* environment.

``tree.py`` holds the whole tree and its loader (:func:`kiosk.settings.tree.load_settings`); ``device.py``,
``terminal.py`` and ``central.py`` are its ``[device]``, ``[terminal]`` and ``[central]`` sections; ``pin.py`` the
staff PIN's stored form; ``file.py`` writes one value back into the installer's file; ``doc.py`` renders
docs/SETTINGS.md. Nothing here loads UI, network, database or pixels.
"""
