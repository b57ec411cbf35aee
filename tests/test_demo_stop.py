"""`kiosk demo` stopped with SIGTERM (systemd, `kill`, a CI timeout) leaves no central server running."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from kiosk.demo import free_port

ROOT = Path(__file__).resolve().parents[1]


def test_sigterm_stops_the_demo_and_its_central_server(tmp_path):
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "kiosk", "demo", "--scripted-only", "--workdir", str(tmp_path / "w"),
                             "--port", str(port)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        health = f"http://127.0.0.1:{port}/api/v1/health"
        deadline = time.monotonic() + 90
        up = False
        while time.monotonic() < deadline and proc.poll() is None and not up:
            try:
                up = requests.get(health, timeout=1).ok
            except requests.RequestException:
                time.sleep(0.2)
        assert up, proc.stderr.read() if proc.poll() is not None else "the central server never answered"
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    refused = False
    try:
        requests.get(health, timeout=2)
    except requests.ConnectionError:
        refused = True
    assert refused, "the central server still answers after the demo was stopped"
    # nothing of the demo's left as a child of this test either
    leftovers = subprocess.run(["pgrep", "-f", f"--port {port}"], capture_output=True, text=True, check=False).stdout
    assert leftovers.strip() == "", f"processes left: {leftovers}"
    assert os.path.isdir(tmp_path / "w")
