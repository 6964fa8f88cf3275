"""The server side of a bench: `guichet serve` as a child process with a fresh deployment's
environment, `guichet` commands, and the PostgreSQL database it runs on (reset, backends' CPU time).

The benches talk to the server over loopback only, bound every wait, and stop what they start.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench.support.base import BenchError
from bench.support.procs import proc_cpu_seconds, proc_kib, process_tree

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def subprocess_env(overrides: dict[str, str]) -> dict[str, str]:
    """This environment without any GUICHET_* or Django setting, plus `overrides`."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("GUICHET_") and k != "DJANGO_SETTINGS_MODULE"
    }
    env.update(overrides)
    return env


def guichet_env(
    *, data_dir: Path, database_url: str, email_url: str, sms_url: str, port: int
) -> dict[str, str]:
    """A `serve` deployment with fresh keys (GUICHET_MODE unset: production rules)."""
    return {
        "GUICHET_SECRET_KEY": secrets.token_hex(32),
        "GUICHET_HMAC_KEY": secrets.token_hex(32),
        "GUICHET_DATA_KEY": secrets.token_hex(32),
        "GUICHET_DATA_DIR": str(data_dir),
        "GUICHET_DATABASE_URL": database_url,
        "GUICHET_EMAIL_URL": email_url,
        "GUICHET_SMS_URL": sms_url,
        "GUICHET_SMS_TOKEN": "bench",
        "GUICHET_PUBLIC_URL": f"http://127.0.0.1:{port}",
        # The SMS gateway and SMTP server of the bench listen on 127.0.0.1.
        "GUICHET_EGRESS_ALLOW": "127.0.0.1",
        # The bench's users all come from 127.0.0.1: lift the per-address look-up limit.
        "GUICHET_EMAIL_LOOKUP_LIMIT": "100000000",
    }


def guichet_cli(args: Sequence[str], env: dict[str, str], *, timeout: float) -> str:
    """Run `python -m guichet.cli ARGS`; its output, or BenchError with it."""
    try:
        done = subprocess.run(
            [sys.executable, "-m", "guichet.cli", *args],
            env=subprocess_env(env),
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise BenchError(f"guichet {' '.join(args)} took more than {timeout:.0f} s") from exc
    if done.returncode != 0:
        raise BenchError(f"guichet {' '.join(args)} exited {done.returncode}:\n{done.stderr[-2000:]}")
    return done.stdout


class Server:
    """`guichet serve` as a child process, its output kept in a log file."""

    def __init__(self, env: dict[str, str], *, port: int, workers: int, threads: int, log: Path) -> None:
        self.env = env
        self.port = port
        self.workers = workers
        self.threads = threads
        self.log_path = log
        self.process: subprocess.Popen[bytes] | None = None
        self._log: Any = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> None:
        self._log = self.log_path.open("wb")
        command = [sys.executable, "-m", "guichet.cli", "serve", "--host", "127.0.0.1"]
        command += ["--port", str(self.port), "--workers", str(self.workers), "--threads", str(self.threads)]
        self.process = subprocess.Popen(
            command, env=subprocess_env(self.env), cwd=ROOT, stdout=self._log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BenchError(f"guichet serve exited {self.process.returncode}:\n{self.log_tail()}")
            if self._healthy() and len(self.worker_pids()) >= self.workers:
                return
            time.sleep(0.2)
        raise BenchError(f"guichet serve not healthy after {timeout:.0f} s:\n{self.log_tail()}")

    def _healthy(self) -> bool:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
        try:
            conn.request("GET", "/healthz")
            return conn.getresponse().status == 200
        except (OSError, http.client.HTTPException):
            return False
        finally:
            conn.close()

    def worker_pids(self) -> list[int]:
        return process_tree(self.process.pid)[1:] if self.process else []

    def peak_rss_kib(self) -> int:
        """Sum of the peak resident memory (VmHWM) of the master and every worker."""
        if self.process is None:
            return 0
        return sum(proc_kib(pid, "VmHWM") for pid in process_tree(self.process.pid))

    def cpu_seconds(self) -> float:
        """User + system CPU time used so far by the master and every worker."""
        if self.process is None:
            return 0.0
        return sum(proc_cpu_seconds(pid) for pid in process_tree(self.process.pid))

    def peak_rss_detail(self) -> str:
        if self.process is None:
            return ""
        pids = process_tree(self.process.pid)
        parts = [f"master {proc_kib(pids[0], 'VmHWM') / 1024:.0f} MiB"]
        parts += [f"worker {proc_kib(pid, 'VmHWM') / 1024:.0f} MiB" for pid in pids[1:]]
        return ", ".join(parts)

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def log_size(self) -> int:
        try:
            return self.log_path.stat().st_size
        except OSError:
            return 0

    def access_ms(self, since: int, method: str, path: str) -> list[float]:
        """Time spent inside the server (gunicorn's %(M)s) by each `method path` logged after byte `since`."""
        with self.log_path.open("rb") as f:
            f.seek(since)
            text = f.read().decode(errors="replace")
        pattern = re.compile(rf'"{re.escape(method)} {re.escape(path)}" \d+ \S+ (\d+)ms$', re.MULTILINE)
        return [float(m.group(1)) for m in pattern.finditer(text)]

    def log_problems(self) -> list[str]:
        """Lines of the server's output that report an error (the access log lines are not)."""
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return []
        return [line for line in lines if "ERROR" in line or line.startswith("Traceback")]

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM (gunicorn's graceful stop), then SIGKILL what is left after `timeout`."""
        if self.process is None:
            return
        tree = process_tree(self.process.pid)
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                for pid in tree:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        if self._log is not None:
            self._log.close()
        self.process = None


class PostgresBackends:
    """CPU time of the PostgreSQL backends connected to one database, when they run on this machine."""

    def __init__(self, url: str) -> None:
        import psycopg

        self._conn = psycopg.connect(url, autocommit=True, connect_timeout=5)
        self.database = urlsplit(url).path.lstrip("/")

    def cpu_seconds(self) -> dict[int, float]:
        rows = self._conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            [self.database],
        ).fetchall()
        return {pid: proc_cpu_seconds(pid) for (pid,) in rows}

    def used_since(self, before: dict[int, float]) -> float:
        """CPU seconds used since `before` (a backend started meanwhile counts from zero)."""
        return sum(cpu - before.get(pid, 0.0) for pid, cpu in self.cpu_seconds().items())

    def close(self) -> None:
        self._conn.close()


def postgres_reset(url: str) -> None:
    """Create the database if needed, then drop and recreate its public schema.

    Refuses any database whose name does not say it is for benches: this wipes it.
    """
    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if "bench" not in name:
        raise BenchError(f"refusing to wipe database {name!r}: a bench database name contains 'bench'")
    admin_url = parts._replace(path="/postgres").geturl()
    try:
        with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
            if not exists:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
            conn.execute("DROP SCHEMA IF EXISTS public CASCADE")
            conn.execute("CREATE SCHEMA public")
    except psycopg.OperationalError as exc:
        raise BenchError(f"PostgreSQL at {parts.hostname}:{parts.port or 5432} unreachable: {exc}") from exc
