"""Throwaway Redis and PostgreSQL servers on free loopback ports, owned by one test.

Fault tests stop and restart these; the machine's shared servers are never touched.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from contextlib import contextmanager, suppress
from pathlib import Path

import redis

from harness import free_port, need_service


def wait_until(check, timeout: float = 30.0, interval: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not reached in time")
        time.sleep(interval)


def _redis_answers(port: int) -> bool:
    try:
        return redis.Redis(port=port, socket_connect_timeout=0.2).ping()
    except redis.RedisError:
        return False


@contextmanager
def redis_server(port: int):
    """A private ``redis-server`` on ``port`` for the duration of the block."""
    binary = shutil.which("redis-server")
    need_service("redis-server binary", binary is not None)
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(lambda: _redis_answers(port), timeout=10)
        yield port
    finally:
        process.kill()
        process.wait(timeout=10)


def postgres_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    return found[-1].parent if found else None


class PrivatePostgres:
    """A PostgreSQL cluster in a temporary folder, run as the ``postgres`` user when root."""

    def __init__(self) -> None:
        self.bin = postgres_bin()
        need_service("PostgreSQL server binaries", self.bin is not None)
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="returndesk-pg-"))
        self.data = self.dir / "data"
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        command = [str(self.bin / args[0]), *args[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(
            command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60
        )

    def pg_ctl(self, action: str, *extra: str) -> None:
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        log = str(self.dir / "server.log")
        self._run("pg_ctl", "-D", str(self.data), "-l", log, "-o", options, "-w", *extra, action)

    def start(self) -> PrivatePostgres:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        self.pg_ctl("start")
        return self

    def stop(self) -> None:
        """Stop the server (if a test left it running) and remove the cluster."""
        try:
            with suppress(subprocess.CalledProcessError):
                self.pg_ctl("stop", "-m", "immediate")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)
