"""A throwaway PostgreSQL cluster from Debian's binaries (initdb + pg_ctl) in a temp dir, on a free loopback port.

PostgreSQL refuses to run as root, so as root the cluster runs as the ``postgres`` user (``runuser``), which
Debian's ``postgresql`` package creates. Nothing outside the temp dir is touched; ``stop()`` removes it.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

SUPERUSER = "kiosk"


def find_bindir() -> Path | None:
    """Newest /usr/lib/postgresql/<major>/bin holding initdb and pg_ctl, or None."""
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name), reverse=True)
    for d in dirs:
        if (Path(d) / "initdb").exists() and (Path(d) / "pg_ctl").exists():
            return Path(d)
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Cluster:
    def __init__(self, bindir: Path, shared_buffers: str = "64MB") -> None:
        self.bindir = bindir
        self.shared_buffers = shared_buffers
        self.root = Path(tempfile.mkdtemp(prefix="kiosk-pg-"))
        self.port = free_port()
        self._as: list[str] = []
        if os.geteuid() == 0:
            try:
                pw = pwd.getpwnam("postgres")
            except KeyError:
                raise RuntimeError("running as root and there is no 'postgres' user to run PostgreSQL as") from None
            os.chown(self.root, pw.pw_uid, pw.pw_gid)
            self._as = ["runuser", "-u", "postgres", "--"]

    def _run(self, *args: str) -> None:
        subprocess.run([*self._as, *args], check=True, capture_output=True, timeout=120)

    def start(self) -> Cluster:
        data = self.root / "data"
        self._run(str(self.bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", SUPERUSER, "-E", "UTF8",
                  "--no-sync", "--locale=C")
        # fsync off: a test cluster is thrown away, so durability only costs time.
        opts = f"-h 127.0.0.1 -p {self.port} -k {self.root} -F -c max_connections=60 -c shared_buffers={self.shared_buffers}"
        self._run(str(self.bindir / "pg_ctl"), "-D", str(data), "-l", str(self.root / "log"), "-o", opts, "-w", "-t", "60", "start")
        return self

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{dbname}"

    def stop(self) -> None:
        try:
            self._run(str(self.bindir / "pg_ctl"), "-D", str(self.root / "data"), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
