"""What every bench needs: a real `guichet serve` process, HTTP clients with their own cookies,
a pool of virtual users, latency figures and the server's peak memory.

The benches talk to the server over loopback only, bound every wait, and stop what they start.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import http.client
import math
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlencode, urlsplit

ROOT = Path(__file__).resolve().parent.parent
T = TypeVar("T")
R = TypeVar("R")


def log(message: str) -> None:
    """Progress goes to standard error, so standard output holds only the results."""
    print(message, file=sys.stderr, flush=True)


class BenchError(Exception):
    """The bench could not run as planned (server did not start, a peer is missing...)."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- data --------------------------------------------------------------------------------------


def luhn_complete(partial: str) -> str:
    """`partial` followed by its Luhn check digit."""
    total = 0
    for i, ch in enumerate(reversed(partial)):
        digit = int(ch)
        if i % 2 == 0:  # doubled: these are the odd positions once the check digit is appended
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return partial + str((10 - total % 10) % 10)


@dataclass(frozen=True)
class Holder:
    email: str
    phone: str
    name: str
    pan: str


def holders_make(count: int) -> list[Holder]:
    """`count` distinct cardholders, one card each, with unique emails and phone numbers."""
    return [
        Holder(
            email=f"bench{i:06d}@example.com",
            phone=f"+68790{i:05d}",
            name=f"Bench Holder {i}",
            pan=luhn_complete(f"497010{i:09d}"),
        )
        for i in range(count)
    ]


def holders_csv(holders: Iterable[Holder]) -> str:
    lines = ["pan,expiry,email,phone,name"]
    lines += [f"{h.pan},2912,{h.email},{h.phone},{h.name}" for h in holders]
    return "\n".join(lines) + "\n"


# --- HTTP client -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str]
    body: str
    seconds: float  # from sending the request to the last byte of the body


_connections = threading.local()
# gunicorn closes idle keep-alive connections after 2 s; open a new one well before that.
KEEPALIVE_REUSE_S = 1.0


def _connection(host: str, port: int, timeout: float) -> http.client.HTTPConnection:
    """This thread's keep-alive connection, reopened when it sat idle long enough to be closed."""
    conn: http.client.HTTPConnection | None = getattr(_connections, "conn", None)
    last: float = getattr(_connections, "last", 0.0)
    if conn is not None and (time.monotonic() - last > KEEPALIVE_REUSE_S or conn.port != port):
        conn.close()
        conn = None
    if conn is None:
        conn = http.client.HTTPConnection(host, port, timeout=timeout)
        _connections.conn = conn
    return conn


def _drop_connection() -> None:
    conn: http.client.HTTPConnection | None = getattr(_connections, "conn", None)
    if conn is not None:
        conn.close()
    _connections.conn = None


class Browser:
    """One person's browser: its own cookies, no redirect following, a bounded wait per request."""

    def __init__(self, base_url: str, timeout: float = 30.0) -> None:
        parts = urlsplit(base_url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.timeout = timeout
        self.cookies: dict[str, str] = {}

    def get(self, path: str) -> Response:
        return self.request("GET", path)

    def post(self, path: str, form: dict[str, str]) -> Response:
        return self.request("POST", path, form)

    def request(self, method: str, path: str, form: dict[str, str] | None = None) -> Response:
        headers = {"Host": f"{self.host}:{self.port}", "Accept-Language": "fr"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn = _connection(self.host, self.port, self.timeout)
        started = time.perf_counter()
        try:
            conn.request(method, path, body=body, headers=headers)
            raw = conn.getresponse()
            data = raw.read()
        except (OSError, http.client.HTTPException):
            _drop_connection()
            raise
        seconds = time.perf_counter() - started
        _connections.last = time.monotonic()
        if raw.will_close:
            _drop_connection()
        for value in raw.headers.get_all("Set-Cookie") or []:
            self._remember(value)
        return Response(
            status=raw.status,
            headers={k.lower(): v for k, v in raw.headers.items()},
            body=data.decode("utf-8", "replace"),
            seconds=seconds,
        )

    def _remember(self, header: str) -> None:
        jar: SimpleCookie = SimpleCookie()
        jar.load(header)
        for name, morsel in jar.items():
            if morsel.value == "" or morsel["max-age"] in ("0", 0):
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = morsel.value


_HIDDEN = re.compile(r'<input type="hidden" name="(?P<name>[^"]+)" value="(?P<value>[^"]*)"')


def hidden_fields(page: str) -> dict[str, str]:
    """The hidden inputs of a page (CSRF token, form nonce)."""
    return {m["name"]: html.unescape(m["value"]) for m in _HIDDEN.finditer(page)}


# --- running virtual users ---------------------------------------------------------------------


def run_pool(
    items: Sequence[T], work: Callable[[T], R], *, concurrency: int, deadline: float
) -> tuple[list[R], list[str], float]:
    """Run `work` on every item with `concurrency` threads; return results, errors and wall seconds.

    Items not started by `deadline` (time.monotonic()) are counted as errors, so a bench never runs on.
    """
    results: list[R] = []
    errors: list[str] = []

    def guarded(item: T) -> R:
        if time.monotonic() > deadline:
            raise BenchError("time budget spent before this user started")
        return work(item)

    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="user") as pool:
        started = time.perf_counter()
        futures = [pool.submit(guarded, item) for item in items]
        for future in as_completed(futures):
            try:
                results.append(future.result())
            except Exception as exc:  # noqa: BLE001 (one user's failure is counted, not fatal to the bench)
                errors.append(f"{type(exc).__name__}: {exc}")
        wall = time.perf_counter() - started
    # The pool's threads have ended: their keep-alive connections went with their thread-local state.
    return results, errors, wall


# --- figures -----------------------------------------------------------------------------------


def percentile(sorted_values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile of already sorted values (p in 0..100)."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


@dataclass
class CaseResult:
    database: str
    case: str
    latencies: list[float] = field(default_factory=list)  # seconds, one per timed request
    wall_seconds: float = 0.0
    failures: list[str] = field(default_factory=list)
    peak_rss_kib: int = 0
    server_cpu_seconds: float = 0.0  # user + system time of the server's processes during the case
    server_ms: list[float] = field(default_factory=list)  # time inside the server, from its access log

    database_cpu_seconds: float | None = None  # PostgreSQL backends serving the server, when known
    disk_stall_seconds: float | None = None  # see `disk_stalls`, when the bench watched for them

    @property
    def cpu_ms_per_request(self) -> float:
        return self.server_cpu_seconds / self.requests * 1000 if self.requests else math.nan

    def database_cpu_figure(self) -> str:
        if self.database_cpu_seconds is None or not self.requests:
            return "-"
        return f"{self.database_cpu_seconds / self.requests * 1000:.1f}"

    @property
    def requests(self) -> int:
        return len(self.latencies)

    @property
    def throughput(self) -> float:
        return self.requests / self.wall_seconds if self.wall_seconds else 0.0

    def ms(self, p: float) -> float:
        return percentile(sorted(self.latencies), p) * 1000

    def server_figures(self) -> str:
        ordered = sorted(self.server_ms)
        return f"{percentile(ordered, 50):.0f} / {percentile(ordered, 99):.0f}" if ordered else "-"


def table(rows: Sequence[CaseResult]) -> str:
    """A Markdown table, readable in a terminal and pasteable in bench/README.md."""
    head = ["database", "case", "requests", "failed", "req/s", "p50 ms", "p99 ms", "in server p50/p99 ms"]
    head += ["server CPU ms/req", "PostgreSQL CPU ms/req", "server peak RSS MiB"]
    stalls = any(r.disk_stall_seconds is not None for r in rows)
    if stalls:
        head.append("disk stalls s")
    lines = [
        [
            r.database,
            r.case,
            str(r.requests),
            str(len(r.failures)),
            f"{r.throughput:.0f}",
            f"{r.ms(50):.1f}",
            f"{r.ms(99):.1f}",
            r.server_figures(),
            f"{r.cpu_ms_per_request:.1f}",
            r.database_cpu_figure(),
            f"{r.peak_rss_kib / 1024:.0f}",
        ]
        + ([f"{r.disk_stall_seconds:.2f}" if r.disk_stall_seconds is not None else "-"] if stalls else [])
        for r in rows
    ]
    widths = [max([len(h)] + [len(line[i]) for line in lines]) for i, h in enumerate(head)]

    def fmt(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    out = [fmt(head), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [fmt(line) for line in lines]
    return "\n".join(out)


def _cpu_times() -> list[int] | None:
    """The machine's CPU time counters (user, nice, system, idle, iowait, ...), None off Linux."""
    try:
        with open("/proc/stat", encoding="ascii") as stat:
            return [int(v) for v in stat.readline().split()[1:]]
    except (OSError, ValueError):
        return None


async def disk_stalls(until: float, *, interval: float = 0.25, share: float = 0.25) -> float | None:
    """Seconds, until `until` (time.perf_counter()), during which the machine waited for its disk.

    Every `interval`, the share of all CPU time spent in iowait (a CPU idle while a process it ran
    waits for the disk): an interval where it is `share` or more counts. On a shared virtual disk a
    database's commit (an fsync of its log) sometimes takes hundreds of milliseconds; every answer
    that waits for a commit waits with it, however little CPU the machine is using.
    """
    before = _cpu_times()
    if before is None:
        return None
    stalled = 0.0
    while time.perf_counter() < until:
        await asyncio.sleep(interval)
        now = _cpu_times()
        if now is None:
            return None
        spent = [a - b for a, b in zip(now, before, strict=True)]
        if sum(spent) and spent[4] / sum(spent) >= share:
            stalled += interval
        before = now
    return stalled


# --- the server --------------------------------------------------------------------------------


def _proc_children(pid: int) -> list[int]:
    children: list[int] = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            text = (task / "children").read_text()
            children += [int(c) for c in text.split()]
    except OSError:
        pass
    return children


def _proc_kib(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{key}:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _proc_cpu_seconds(pid: int) -> float:
    try:
        # Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def process_tree(pid: int) -> list[int]:
    """`pid` and all its descendants, from /proc."""
    seen = [pid]
    i = 0
    while i < len(seen):
        seen += [c for c in _proc_children(seen[i]) if c not in seen]
        i += 1
    return seen


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
        return sum(_proc_kib(pid, "VmHWM") for pid in process_tree(self.process.pid))

    def cpu_seconds(self) -> float:
        """User + system CPU time used so far by the master and every worker."""
        if self.process is None:
            return 0.0
        return sum(_proc_cpu_seconds(pid) for pid in process_tree(self.process.pid))

    def peak_rss_detail(self) -> str:
        if self.process is None:
            return ""
        pids = process_tree(self.process.pid)
        parts = [f"master {_proc_kib(pids[0], 'VmHWM') / 1024:.0f} MiB"]
        parts += [f"worker {_proc_kib(pid, 'VmHWM') / 1024:.0f} MiB" for pid in pids[1:]]
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
        return {pid: _proc_cpu_seconds(pid) for (pid,) in rows}

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


def databases_of(choice: str) -> list[str]:
    """`--db sqlite|postgresql|both` as the list of databases to measure, in order."""
    return ["sqlite", "postgresql"] if choice == "both" else [choice]


def bench_each(
    databases: Sequence[str], bench: Callable[[str], list[CaseResult]]
) -> tuple[list[CaseResult], list[str]]:
    """Run `bench` on each database; one that cannot be measured is logged and named, not fatal."""
    results: list[CaseResult] = []
    broken: list[str] = []
    for database in databases:
        try:
            results += bench(database)
        except BenchError as exc:
            log(f"bench: {exc}")
            broken.append(database)
    return results, broken


def exit_status(results: Sequence[CaseResult], broken: Sequence[str]) -> int:
    """Print the failures; 0 when every request got its answer, 1 when some did not, 2 when a
    database could not be measured."""
    failed = [r for r in results if r.failures]
    for r in failed:
        print(f"\n{r.database} / {r.case}: {len(r.failures)} failed, e.g. {r.failures[0]}")
    if broken:
        print(f"\nnot measured: {', '.join(broken)} (see the messages above)")
        return 2
    return 1 if failed else 0
