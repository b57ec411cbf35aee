"""`kiosk demo` stopped with SIGTERM (systemd, `kill`, a CI timeout) leaves no central server running, whether
the server was still starting or already serving."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from kiosk.demo.run import free_port

ROOT = Path(__file__).resolve().parents[2]


def server_processes(port: int) -> str:
    return subprocess.run(["pgrep", "-f", f"serve .*--port {port}$"], capture_output=True, text=True,
                          check=False).stdout.strip()


def answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=1).ok
    except requests.RequestException:
        return False


@pytest.mark.parametrize("when", ["while the server starts", "once the server answers"])
def test_sigterm_stops_the_demo_and_its_central_server(tmp_path, when):
    port = free_port()
    health = f"http://127.0.0.1:{port}/api/v1/health"
    proc = subprocess.Popen([sys.executable, "-m", "kiosk", "demo", "--scripted-only", "--workdir", str(tmp_path / "w"),
                             "--port", str(port)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        assert proc.stdout is not None and proc.stdout.readline().startswith("[1/5] central server")
        if when == "once the server answers":
            deadline = time.monotonic() + 90
            while not answers(health):
                assert proc.poll() is None and time.monotonic() < deadline, "the central server never answered"
                time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert server_processes(port) == "", "the central server is still running after the demo was stopped"
    assert not answers(health)
