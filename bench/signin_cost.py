"""Bench: what the subscribers' Argon2id password hashing costs, alone and in the sign-in.

1. Argon2id alone, in this process, for each cost given with --cost (default: the configured one):
   time per hash and per verification (median of --rounds, wall clock and CPU), the ceiling of
   verifications per second on every CPU that the CPU time gives, the peak memory one hash adds
   (measured in a fresh child process), and verifications per second measured with 1 thread and with
   one thread per CPU (argon2-cffi releases the GIL while it hashes).
2. The sign-in through a real `guichet serve --workers 2 --threads 8` (production mode, SQLite or
   PostgreSQL), after `guichet subscribers import` of --users subscribers: POST /account/signin/ with
   the right password (302 to /account/), with a wrong one (400, its error), and GET /healthz as a
   baseline on the same server and client.

Usage: python bench/signin_cost.py [--db sqlite|postgresql|both] [--users N] [--concurrency C]
       [--cost t=2,m=19456,p=1 ...] [--rounds N] [--skip-server]
Exits 1 when a request did not get the expected answer, 2 when the bench could not run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script from anywhere

from argon2 import PasswordHasher, Type

from bench.support import (
    BenchError,
    Browser,
    CaseResult,
    PostgresBackends,
    Server,
    bench_main,
    expect,
    free_port,
    guichet_cli,
    guichet_env,
    healthz,
    hidden_fields,
    log,
    postgres_reset,
    run_pool,
)

DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/guichet_bench_signin"
DEFAULT_COST = "t=2,m=19456,p=1"  # SubscribersConfig's default (guichet/config/env.py)
WRONG_TRIES = 4  # a fifth consecutive failure would block the mailbox
PASSWORD = "Bench-pass-2026"  # noqa: S105 (the throwaway password of the bench subscribers)


# --- 1. Argon2id alone ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Cost:
    time_cost: int
    memory_kib: int
    parallelism: int

    @classmethod
    def parse(cls, text: str) -> Cost:
        values = dict(part.split("=", 1) for part in text.split(","))
        try:
            return cls(int(values["t"]), int(values["m"]), int(values["p"]))
        except (KeyError, ValueError) as exc:
            raise argparse.ArgumentTypeError(f"cost must look like {DEFAULT_COST}, got {text!r}") from exc

    def hasher(self) -> PasswordHasher:
        return PasswordHasher(
            time_cost=self.time_cost,
            memory_cost=self.memory_kib,
            parallelism=self.parallelism,
            hash_len=32,
            salt_len=16,
            type=Type.ID,
        )

    def __str__(self) -> str:
        mib = self.memory_kib / 1024
        return f"t={self.time_cost}, m={self.memory_kib} KiB ({mib:.0f} MiB), p={self.parallelism}"


_PEAK = """
from pathlib import Path
from argon2 import PasswordHasher, Type

def kib(key):
    line = next(x for x in Path("/proc/self/status").read_text().splitlines() if x.startswith(key + ":"))
    return int(line.split()[1])

hasher = PasswordHasher(time_cost={t}, memory_cost={m}, parallelism={p}, type=Type.ID)
Path("/proc/self/clear_refs").write_text("5")  # resets the peak (VmHWM) to the current RSS
before = kib("VmRSS")
hasher.hash("{password}")
print(kib("VmHWM") - before)
"""


def peak_added_kib(cost: Cost) -> int:
    """Peak memory (KiB) one hash adds to a process (Linux: /proc/self/clear_refs, VmHWM)."""
    code = _PEAK.format(t=cost.time_cost, m=cost.memory_kib, p=cost.parallelism, password=PASSWORD)
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    return int(done.stdout.strip())


def verifications_per_second(hasher: PasswordHasher, stored: str, threads: int, seconds: float) -> float:
    stop = time.monotonic() + seconds
    counts = [0] * threads

    def work(i: int) -> None:
        while time.monotonic() < stop:
            hasher.verify(stored, PASSWORD)
            counts[i] += 1

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(work, range(threads)))
    return sum(counts) / (time.perf_counter() - started)


def bench_hashing(costs: list[Cost], rounds: int) -> list[list[str]]:
    cpus = os.cpu_count() or 1
    rows = []
    for cost in costs:
        hasher = cost.hasher()
        hashes, verifies, cpu = [], [], []
        stored = hasher.hash(PASSWORD)
        for _ in range(rounds):
            began = time.perf_counter()
            hasher.hash(PASSWORD)
            hashes.append(time.perf_counter() - began)
            began, began_cpu = time.perf_counter(), time.process_time()
            hasher.verify(stored, PASSWORD)
            verifies.append(time.perf_counter() - began)
            # CPU time of the whole process (every lane's thread) is what the load of other programs on
            # the machine changes least.
            cpu.append(time.process_time() - began_cpu)
        one = verifications_per_second(hasher, stored, 1, 3.0)
        many = verifications_per_second(hasher, stored, cpus, 3.0)
        peak = peak_added_kib(cost)
        rows.append(
            [
                str(cost),
                f"{statistics.median(hashes) * 1000:.1f}",
                f"{statistics.median(verifies) * 1000:.1f}",
                f"{statistics.median(cpu) * 1000:.1f}",
                f"{cpus / statistics.median(cpu):.0f}",
                f"{peak / 1024:.1f}",
                f"{one:.0f}",
                f"{many:.0f}",
            ]
        )
        log(f"argon2id {cost}: done")
    return rows


def markdown(head: list[str], rows: list[list[str]]) -> str:
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(head)]

    def fmt(cells: list[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    return "\n".join([fmt(head), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(fmt, rows)])


# --- 2. the sign-in through the real server --------------------------------------------------------


@dataclass
class Ready:
    browser: Browser
    login: str
    token: str
    lock: threading.Lock


def prepare(login: str, base_url: str) -> Ready:
    browser = Browser(base_url)
    page = browser.get("/account/signin/")
    expect(page, 200, text='name="password"')
    return Ready(browser, login, hidden_fields(page.body)["csrfmiddlewaretoken"], threading.Lock())


def signin_right(user: Ready) -> list[float]:
    form = {"csrfmiddlewaretoken": user.token, "login": user.login, "password": PASSWORD}
    response = user.browser.post("/account/signin/", form)
    expect(response, 302, location="/account/")
    return [response.seconds]


def signin_wrong(user: Ready) -> list[float]:
    with user.lock:
        form = {"csrfmiddlewaretoken": user.token, "login": user.login, "password": PASSWORD + "x"}
        response = user.browser.post("/account/signin/", form)
        expect(response, 400, text='id="error"')
    return [response.seconds]


def subscribers_csv(count: int) -> str:
    lines = ["contract,login,password,personalized"]
    lines += [f"B{n:06d},user{n:06d}@lagon.example,{PASSWORD},true" for n in range(count)]
    return "\n".join(lines) + "\n"


def bench_server(database: str, args: argparse.Namespace) -> list[CaseResult]:
    if args.skip_server:  # only part 1: no case measured, no database broken
        return []
    wrong_users = max(1, args.users // WRONG_TRIES)
    logins = [f"user{n:06d}@lagon.example" for n in range(args.users + wrong_users)]
    with tempfile.TemporaryDirectory(prefix="guichet-bench-") as tmp:
        data_dir = Path(tmp)
        server: Server | None = None
        backends: PostgresBackends | None = None
        try:
            if database == "postgresql":
                database_url = args.pg_url
                postgres_reset(database_url)
            else:
                database_url = f"sqlite:///{data_dir / 'bench.sqlite3'}"
            port = free_port()
            # Sign-ins send nothing; the outbox is never used, so no real peers are needed.
            env = guichet_env(
                data_dir=data_dir,
                database_url=database_url,
                email_url="smtp://127.0.0.1:9",
                sms_url="http://127.0.0.1:9/",
                port=port,
            )
            env["GUICHET_SUBSCRIBER_SIGNIN_IP_LIMIT"] = "100000000"  # every virtual user is 127.0.0.1
            guichet_cli(["migrate"], env, timeout=120)
            path = data_dir / "subscribers.csv"
            path.write_text(subscribers_csv(len(logins)), encoding="utf-8")
            began = time.monotonic()
            out = guichet_cli(["subscribers", "import", str(path)], env, timeout=600)
            took = time.monotonic() - began
            log(f"{database}: imported {len(logins)} subscribers in {took:.1f} s ({out.strip()})")
            began = time.monotonic()
            again = guichet_cli(["subscribers", "import", str(path)], env, timeout=600)
            log(
                f"{database}: re-imported the same file in {time.monotonic() - began:.1f} s ({again.strip()})"
            )

            server = Server(env, port=port, workers=2, threads=8, log=data_dir / "server.log")
            server.start()
            if database == "postgresql":
                backends = PostgresBackends(database_url)
            base = server.base_url
            ready, errors, _ = run_pool(
                logins,
                lambda login: prepare(login, base),
                concurrency=args.concurrency,
                deadline=args.deadline,
            )
            if errors:
                raise BenchError(f"{len(errors)} user(s) could not open the sign-in page, e.g. {errors[0]}")
            by_login = {user.login: user for user in ready}
            right = [by_login[login] for login in logins[: args.users]]
            wrong = [by_login[login] for login in logins[args.users :]]
            cases: list[tuple[str, Sequence[Any], Callable[[Any], list[float]], str]] = [
                ("GET /healthz (baseline)", list(range(args.users)), lambda _: healthz(base), "GET /healthz"),
                ("sign-in, right password", right, signin_right, "POST /account/signin/"),
                ("sign-in, wrong password", wrong * WRONG_TRIES, signin_wrong, "POST /account/signin/"),
            ]
            results = []
            for name, items, work, logged in cases:
                server_cpu, log_at = server.cpu_seconds(), server.log_size()
                database_cpu = backends.cpu_seconds() if backends else {}
                found, failures, wall = run_pool(
                    items, work, concurrency=args.concurrency, deadline=args.deadline
                )
                result = CaseResult(
                    database=database,
                    case=name,
                    latencies=[s for user in found for s in user],
                    wall_seconds=wall,
                    failures=failures,
                )
                result.server_cpu_seconds = server.cpu_seconds() - server_cpu
                if backends:
                    result.database_cpu_seconds = backends.used_since(database_cpu)
                time.sleep(0.2)  # the last access log lines
                result.server_ms = server.access_ms(log_at, *logged.split(" "))
                result.peak_rss_kib = server.peak_rss_kib()
                results.append(result)
                log(f"{database}: {name}: {result.requests} requests, {result.throughput:.0f} req/s")
            log(f"{database}: server peak RSS: {server.peak_rss_detail()}")
            problems = server.log_problems()
            if problems:
                log(f"{database}: {len(problems)} error line(s) in the server log, first: {problems[0]}")
            return results
        except BenchError as exc:
            if server is not None:
                log(server.log_tail())
            raise BenchError(f"{database}: {exc}") from exc
        finally:
            if backends is not None:
                backends.close()
            if server is not None:
                server.stop()


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--users", type=int, default=200, help="timed right sign-ins (default 200)")
    parser.add_argument("--concurrency", type=int, default=16, help="virtual users at once (default 16)")
    parser.add_argument(
        "--cost", type=Cost.parse, action="append", help=f"an Argon2id cost, e.g. {DEFAULT_COST} (repeatable)"
    )
    parser.add_argument("--rounds", type=int, default=20, help="hashes and verifications timed per cost")
    parser.add_argument("--skip-server", action="store_true", help="only measure Argon2id alone")


def hashing_table(args: argparse.Namespace) -> str:
    """Part 1, before any server runs: the Argon2id figures of every cost."""
    rows = bench_hashing(args.cost or [Cost.parse(DEFAULT_COST)], args.rounds)
    cpus = os.cpu_count() or 1
    head = ["Argon2id cost", "hash ms", "verify ms", "verify CPU ms", f"verify/s ceiling {cpus} CPUs"]
    head += ["peak MiB added", "verify/s 1 thread", f"verify/s {cpus} threads"]
    return markdown(head, rows)


def main(argv: list[str] | None = None) -> int:
    return bench_main(
        "Sign-in cost",
        bench_server,
        doc=__doc__,
        pg_url=DEFAULT_PG_URL,
        db="sqlite",
        arguments=arguments,
        positive=("users", "concurrency", "rounds"),
        budget="seconds before users stop starting",
        prelude=hashing_table,
        before_table=lambda args: (
            f"\nSign-in through `guichet serve --workers 2 --threads 8`, {args.users} users, "
            f"concurrency {args.concurrency}\n"
        ),
        argv=argv,
    )


if __name__ == "__main__":
    sys.exit(main())
