"""Bench: the ACS's AReq -> ARes, POST /3ds/areq, at 64 concurrent connections (target: 1,000 ARes/s).

A real `guichet serve` (by default 2 workers, one per core, of 4 Django threads and 4 asynchronous
PostgreSQL connections each; the AReq is answered on each worker's event loop) runs against SQLite
and/or PostgreSQL with a fresh database and 1,000 imported cards. The DS is played by an asyncio
client in this process (a bare protocol, not streams: it shares the server's cores): 64 keep-alive
connections, each posting AReqs (the Visa browser payment with its nested objects, one of the imported
cards at random) and checking every answer is an ARes with transStatus C. Four cases: the ceiling,
`GET /healthz` (one `SELECT 1` through Django) back to back; 2.2.0 AReqs alone back to back (the
baseline of the version mix); the mix, 2.2.0 and 2.3.1 AReqs half and half, back to back (the
throughput at saturation); the mix at a fixed rate spread over the 64 connections (`--rate`, default
1,000 a second: the latency when the server is not saturated, each measured from its scheduled time).
The public URL is https (behind a TLS proxy, as in production): 2.3.1 offers a challenge only there.

The cardholders have no ePin: the bench sets GUICHET_ACS_NO_EPIN_POLICY=sms_only so each AReq takes
the challenge path (C), which runs the same queries as for a cardholder with an ePin.

Usage: python bench/acs_areq.py [--db sqlite|postgresql|both] [--seconds S] [--workers W --threads T]
       [--rate R]
Exits 1 when a request did not get the expected answer, 2 when the bench could not run.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script from anywhere

from bench.support import (
    WARMUP_S,
    BenchError,
    CaseResult,
    PostgresBackends,
    Server,
    Unexpected,
    bench_main,
    free_port,
    guichet_cli,
    guichet_env,
    holders_csv,
    holders_make,
    log,
    postgres_reset,
    request_bytes,
    run_case,
)
from tests.support.servers import SmsGateway, SmtpServer

DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/guichet_bench_acs"
VECTOR = Path(__file__).resolve().parents[1] / "tests/issuer/acs/vectors/visa-220-107-areq.json"
CARDS = 1000
BODIES = 4096  # distinct AReqs, cycled


MIX = ("2.2.0", "2.3.1")
# What a 2.3.1 AReq changes in the Visa one: the challenge indicator becomes an array, and the
# cardholder's languages come in acceptLanguage too (docs/emv-3ds.md §1.7).
V231 = {"messageVersion": "2.3.1", "threeDSRequestorChallengeInd": ["04"], "acceptLanguage": ["fr-FR", "en"]}


def areq_bodies(pans: list[str], count: int, versions: tuple[str, ...]) -> list[bytes]:
    """`count` AReqs as the DS forwards them, each with its own ids and a random imported card, the
    versions in turn."""
    base = json.loads(VECTOR.read_text())
    rng = random.Random(7)
    bodies = []
    for index in range(count):
        message = base | {
            "acctNumber": rng.choice(pans),
            "threeDSServerTransID": str(uuid.uuid4()),
            "dsTransID": str(uuid.uuid4()),
            "dsReferenceNumber": "DS-BENCH-0001",
            "dsURL": "https://ds.bench.invalid/rreq",
            "purchaseCurrency": "978",
        }
        if versions[index % len(versions)] == "2.3.1":
            message |= V231
        bodies.append(json.dumps(message).encode())
    return bodies


def expect_ares(status: int, body: bytes) -> None:
    if status != 200:
        raise Unexpected(f"status {status}")
    answer = json.loads(body)
    if answer.get("messageType") != "ARes" or answer.get("transStatus") != "C":
        raise Unexpected(
            f"{answer.get('messageType')} {answer.get('transStatus') or answer.get('errorCode')}"
        )


def expect_healthz(status: int, body: bytes) -> None:
    if status != 200 or b'"ok"' not in body:
        raise Unexpected(f"status {status}")


def bench_database(database: str, args: argparse.Namespace) -> list[CaseResult]:
    holders = holders_make(CARDS)
    with tempfile.TemporaryDirectory(prefix="guichet-bench-acs-") as tmp:
        data_dir = Path(tmp)
        smtp, sms = SmtpServer(), SmsGateway()
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
            env["GUICHET_ACS_NO_EPIN_POLICY"] = "sms_only"
            env["GUICHET_PUBLIC_URL"] = "https://acs.bench.invalid"  # only named in acsURL, never called
            env["GUICHET_ACS_DS_URLS"] = "https://ds.bench.invalid/"  # the bench's AReqs name it
            began = time.monotonic()
            guichet_cli(["migrate"], env, timeout=120)
            cards = data_dir / "cards.csv"
            cards.write_text(holders_csv(holders), encoding="utf-8")
            guichet_cli(["cards", "import", str(cards)], env, timeout=120)
            log(f"{database}: migrated, imported {len(holders)} cards in {time.monotonic() - began:.1f} s")

            server = Server(
                env, port=port, workers=args.workers, threads=args.threads, log=data_dir / "server.log"
            )
            server.start()
            if database == "postgresql":
                backends = PostgresBackends(database_url)
            pans = [h.pan for h in holders]
            common = {"connections": args.connections, "seconds": args.seconds}
            alone = [
                request_bytes("POST", "/3ds/areq", port, b) for b in areq_bodies(pans, BODIES, ("2.2.0",))
            ]
            areqs = [request_bytes("POST", "/3ds/areq", port, b) for b in areq_bodies(pans, BODIES, MIX)]
            results = [
                run_case(
                    server, backends, database=database, case="GET /healthz (ceiling)",
                    logged=("GET", "/healthz"), requests=[request_bytes("GET", "/healthz", port)],
                    check=expect_healthz, **common,
                ),
                run_case(
                    server, backends, database=database, case="POST /3ds/areq 2.2.0 alone",
                    logged=("POST", "/3ds/areq"), requests=alone, check=expect_ares, **common,
                ),
                run_case(
                    server, backends, database=database, case="POST /3ds/areq 2.2.0+2.3.1",
                    logged=("POST", "/3ds/areq"), requests=areqs, check=expect_ares, **common,
                ),
                run_case(
                    server, backends, database=database, case=f"POST /3ds/areq mix at {args.rate:.0f}/s",
                    logged=("POST", "/3ds/areq"), requests=areqs, check=expect_ares, rate=args.rate,
                    **common,
                ),
            ]  # fmt: skip
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


def verdict(results: list[CaseResult], rate: float) -> list[str]:
    """The targets, per database: >= 1,000 ARes/s (PostgreSQL), p99 < 50 ms, >= 1/4 of the ceiling.

    The p99 is judged at the paced rate (1,000 a second by default): with every connection always
    busy (the saturation case) the latency is the queue, 64 / throughput, whatever the server does.
    """
    lines = []
    by_db: dict[str, dict[str, CaseResult]] = {}
    for r in results:
        kind = "paced" if " at " in r.case else "alone" if "alone" in r.case else r.case.split(" ")[0]
        by_db.setdefault(r.database, {})[kind] = r
    for database, cases in by_db.items():
        ceiling, areq, paced = cases.get("GET"), cases.get("POST"), cases.get("paced")
        if ceiling is None or areq is None:
            continue
        share = areq.throughput / ceiling.throughput if ceiling.throughput else 0.0
        checks = [
            f"{areq.throughput:.0f} ARes/s with the mix"
            + (" (target >= 1000)" if database == "postgresql" else ""),
            f"{share:.0%} of the ceiling ({'met' if share >= 0.25 else 'MISSED'}: >= 25%)",
            f"p99 {areq.ms(99):.1f} ms at saturation",
        ]
        alone = cases.get("alone")
        if alone is not None and alone.throughput:
            checks.append(f"the mix at {areq.throughput / alone.throughput:.0%} of 2.2.0 alone")
        if paced is not None:
            kept = paced.throughput >= 0.98 * rate and not paced.failures
            good = kept and paced.ms(99) < 50
            stalls = paced.disk_stall_seconds
            checks.append(
                f"p99 {paced.ms(99):.1f} ms at {paced.throughput:.0f}/s offered "
                f"{rate:.0f}/s ({'met' if good else 'MISSED'}: < 50"
                + (f"; the disk stalled {stalls:.2f} s of the case)" if stalls else ")")
            )
        if database == "postgresql":
            checks[0] += " met" if areq.throughput >= 1000 else " MISSED"
        lines.append(f"{database}: " + "; ".join(checks))
    return lines


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per case (default 10)")
    parser.add_argument("--connections", type=int, default=64, help="concurrent DS connections (default 64)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes (default 2)")
    parser.add_argument(
        "--threads", type=int, default=4, help="Django threads and connections per worker (default 4)"
    )
    parser.add_argument(
        "--rate", type=float, default=1000.0, help="AReqs a second offered in the paced case (default 1000)"
    )


def main(argv: list[str] | None = None) -> int:
    return bench_main(
        "AReq -> ARes",
        bench_database,
        doc=__doc__,
        pg_url=DEFAULT_PG_URL,
        arguments=arguments,
        positive=("seconds", "connections", "workers", "threads", "rate"),
        describe=lambda args: (
            f"{args.connections} connections, {args.seconds:.0f} s per case after {WARMUP_S:.0f} s of "
            f"warm-up, server {args.workers} workers x {args.threads} threads"
        ),
        after_table=lambda args, results: "\n" + "\n".join(verdict(results, args.rate)),
        argv=argv,
    )


if __name__ == "__main__":
    sys.exit(main())
