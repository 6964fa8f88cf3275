"""Bench: payment creation through the merchant API, POST /api/v1/payments (docs/merchants.md).

A real `guichet serve` (2 workers x 8 threads) runs against SQLite and/or PostgreSQL; a merchant is
created with `guichet merchants create --json`, and virtual merchants' back-ends call the API with its
bearer key over loopback, 16 at a time:

* baseline, GET /healthz: the same server, client and concurrency, one database round trip;
* create: POST /api/v1/payments with a fresh Idempotency-Key each, expecting 201 and a pending payment;
* replay: the same POST again with an already used Idempotency-Key, expecting the first answer;
* read: GET /api/v1/payments/{id} of a created payment, expecting 200.

Usage: python bench/payments_api.py [--db sqlite|postgresql|both] [--requests N] [--concurrency C]
Exits 1 when a request did not get the expected answer, 2 when the bench could not run.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script from anywhere

from bench.support import (
    BenchError,
    CaseResult,
    PostgresBackends,
    Server,
    Unexpected,
    bench_main,
    free_port,
    guichet_cli,
    guichet_env,
    keepalive_request,
    log,
    postgres_reset,
    run_pool,
)
from tests.support.servers import SmsGateway, SmtpServer

DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/guichet_bench_pay"
HEALTHZ_PER_REQUEST = 2  # the baseline is fast: more requests make its figures as steady as the others'


def call(
    port: int, method: str, path: str, *, key: str = "", body: Any = None, idempotency_key: str = ""
) -> tuple[int, Any, float]:
    """One request on this thread's keep-alive connection: status, parsed JSON, seconds."""
    headers = {"Host": f"127.0.0.1:{port}"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    if idempotency_key:
        headers["Idempotency-Key"] = idempotency_key
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    response, raw, seconds = keepalive_request(
        "127.0.0.1", port, method, path, body=data, headers=headers, timeout=30
    )
    return response.status, json.loads(raw) if raw else None, seconds


def payment(i: int) -> dict[str, Any]:
    return {
        "amount": 390 + i % 100,
        "currency": "EUR",
        "product": "PANIER EDITEUR",
        "reference": f"bench-{i:06d}",
        "return_url": f"https://shop.example/paid?order={i}",
        "cancel_url": "https://shop.example/cancelled",
    }


class Api:
    def __init__(self, port: int, key: str) -> None:
        self.port = port
        self.key = key
        self.created: dict[int, dict[str, Any]] = {}
        self.lock = threading.Lock()

    def healthz(self, _: int) -> list[float]:
        seconds = []
        for _n in range(HEALTHZ_PER_REQUEST):
            status, body, took = call(self.port, "GET", "/healthz")
            if status != 200 or body.get("status") != "ok":
                raise Unexpected(f"healthz: {status}")
            seconds.append(took)
        return seconds

    def create(self, i: int) -> list[float]:
        status, body, took = call(
            self.port, "POST", "/api/v1/payments", key=self.key, body=payment(i), idempotency_key=f"order-{i}"
        )
        if status != 201 or body.get("status") != "pending" or not body["id"].startswith("pay_"):
            raise Unexpected(f"create: {status} {body}")
        with self.lock:
            self.created[i] = body
        return [took]

    def replay(self, i: int) -> list[float]:
        status, body, took = call(
            self.port, "POST", "/api/v1/payments", key=self.key, body=payment(i), idempotency_key=f"order-{i}"
        )
        if status != 201 or body != self.created[i]:
            raise Unexpected(f"replay: {status}, not the first answer")
        return [took]

    def read(self, i: int) -> list[float]:
        payment_id = self.created[i]["id"]
        status, body, took = call(self.port, "GET", f"/api/v1/payments/{payment_id}", key=self.key)
        if status != 200 or body.get("id") != payment_id:
            raise Unexpected(f"read: {status}")
        return [took]


def access_ms(server: Server, since: int, method: str, path_pattern: str) -> list[float]:
    """In-server times of the logged requests whose path matches a regular expression."""
    with server.log_path.open("rb") as f:
        f.seek(since)
        text = f.read().decode(errors="replace")
    pattern = re.compile(rf'"{method} {path_pattern}" \d+ \S+ (\d+)ms$', re.MULTILINE)
    return [float(m.group(1)) for m in pattern.finditer(text)]


def bench_database(database: str, args: argparse.Namespace) -> list[CaseResult]:
    with tempfile.TemporaryDirectory(prefix="guichet-bench-") as tmp:
        data_dir = Path(tmp)
        smtp, sms = SmtpServer(), SmsGateway()  # `serve` wants both; the API sends neither
        smtp.start()
        sms.start()
        server: Server | None = None
        backends: PostgresBackends | None = None
        try:
            if database == "postgresql":
                database_url = args.pg_url
                postgres_reset(database_url)
            else:
                database_url = f"sqlite:///{data_dir / 'bench.sqlite3'}"
            port = free_port()
            env = guichet_env(
                data_dir=data_dir, database_url=database_url, email_url=smtp.url, sms_url=sms.url, port=port
            )
            guichet_cli(["migrate"], env, timeout=120)
            created = json.loads(
                guichet_cli(
                    [
                        "merchants",
                        "create",
                        "--name",
                        "Bench shop",
                        "--notification-url",
                        "http://127.0.0.1:9/hook",
                        "--return-host",
                        "shop.example",
                        "--json",
                    ],
                    env,
                    timeout=60,
                )
            )
            server = Server(env, port=port, workers=2, threads=8, log=data_dir / "server.log")
            server.start()
            if database == "postgresql":
                backends = PostgresBackends(database_url)
            api = Api(port, created["api_key"])
            items = range(args.requests)
            cases = [
                ("GET /healthz (baseline)", api.healthz, "GET", "/healthz"),
                ("POST /api/v1/payments (create)", api.create, "POST", "/api/v1/payments"),
                ("POST /api/v1/payments (idempotent replay)", api.replay, "POST", "/api/v1/payments"),
                ("GET /api/v1/payments/{id}", api.read, "GET", "/api/v1/payments/pay_[A-Za-z0-9]+"),
            ]
            results = []
            for name, work, method, path in cases:
                server_cpu, log_at = server.cpu_seconds(), server.log_size()
                database_cpu = backends.cpu_seconds() if backends else {}
                outcome = run_pool(items, work, concurrency=args.concurrency, deadline=args.deadline)
                done, errors, wall = outcome
                result = CaseResult(
                    database=database,
                    case=name,
                    latencies=[s for user in done for s in user],
                    wall_seconds=wall,
                    failures=errors,
                )
                result.server_cpu_seconds = server.cpu_seconds() - server_cpu
                if backends:
                    result.database_cpu_seconds = backends.used_since(database_cpu)
                time.sleep(0.2)  # let the last access log lines reach the file
                pattern = re.escape(path) if "[" not in path else path
                result.server_ms = access_ms(server, log_at, method, pattern)
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
            smtp.stop()
            sms.stop()


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--requests", type=int, default=1000, help="timed requests per case (default 1000)")
    parser.add_argument("--concurrency", type=int, default=16, help="clients at once (default 16)")


def main(argv: list[str] | None = None) -> int:
    return bench_main(
        "Payments API",
        bench_database,
        doc=__doc__,
        pg_url=DEFAULT_PG_URL,
        arguments=arguments,
        positive=("requests", "concurrency"),
        budget="seconds before requests stop starting",
        describe=lambda args: (
            f"{args.requests} requests per case, concurrency {args.concurrency}, server 2 workers x 8 threads"
        ),
        argv=argv,
    )


if __name__ == "__main__":
    sys.exit(main())
