"""The terminal's runtime, everything but the screen: the pipeline (frames -> interactions) and its live loop, the
SQLite database (``database.py``, ``database_file.py`` for readers of the file), the sync client, the heartbeat,
the manager call, calibration checks and the proof walk, the doctor, the systemd units and their watchdog.

The central server never imports this package (``tests/test_layers.py``).
"""
