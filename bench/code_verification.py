"""Bench: the enrollment portal's code verification, POST /enrollment/verify/ (docs/issuers.md, step 2).

A real `guichet serve` (2 workers x 8 threads) runs against SQLite and/or PostgreSQL, with a real SMTP
server and SMS gateway receiver in this process. Each virtual user has its own cookies: it opens the
portal, gives its email, reads its two codes where a person would (SMS and email), opens the codes
page, and only then is timed:

* verify, right codes: one POST with both codes, expecting the redirect to /enrollment/methods/;
* verify, wrong code: POSTs with a wrong SMS code, expecting the 400 page with its error; each user
  of this case tries four times (the fifth failure would block it);
* baseline, GET /healthz: the same server, client and concurrency, one database round trip.

Usage: python bench/code_verification.py [--db sqlite|postgresql|both] [--users N] [--concurrency C]
Exits 1 when a request did not get the expected answer, 2 when the bench could not run.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script from anywhere

from bench.support import (
    BenchError,
    Browser,
    CaseResult,
    Holder,
    PostgresBackends,
    Server,
    Unexpected,
    bench_main,
    expect,
    free_port,
    guichet_cli,
    guichet_env,
    healthz,
    hidden_fields,
    holders_csv,
    holders_make,
    log,
    postgres_reset,
    run_pool,
)
from tests.support.servers import SmsGateway, SmtpServer

DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/guichet_bench"
WRONG_TRIES = 4  # the fifth consecutive failure would block the cardholder (codes/policy.py)
SMS_CODE = re.compile(r"\b([0-9]{8})\b")
EMAIL_CODE = re.compile(r":\s*([0-9A-Za-z]{5})\s*$", re.MULTILINE)
CODES_WAIT_S = 30.0
HEALTHZ_PER_USER = 5  # the baseline is fast: more requests make its figures as steady as the others'


@dataclass
class Ready:
    """A user on the codes page with both codes in hand: what the timed request needs."""

    browser: Browser
    sms_code: str
    email_code: str
    form: dict[str, str]  # hidden fields of the codes form: CSRF token and the form's nonce
    lock: threading.Lock = field(default_factory=threading.Lock)  # one request at a time per user


def _wait_code(what: str, fetch: Callable[[], list[str]], pattern: re.Pattern[str]) -> str:
    deadline = time.monotonic() + CODES_WAIT_S
    while time.monotonic() < deadline:
        got = fetch()
        if got:
            match = pattern.search(got[-1])
            if not match:
                raise Unexpected(f"no code in the {what}")
            return match.group(1)
        time.sleep(0.05)
    raise Unexpected(f"no {what} after {CODES_WAIT_S:.0f} s")


def prepare(holder: Holder, *, base_url: str, smtp: SmtpServer, sms: SmsGateway) -> Ready:
    browser = Browser(base_url)
    start = browser.get("/enrollment/")
    expect(start, 200)
    token = hidden_fields(start.body)["csrfmiddlewaretoken"]
    sent = browser.post("/enrollment/", {"csrfmiddlewaretoken": token, "email": holder.email})
    expect(sent, 302, location="/enrollment/verify/")
    page = browser.get("/enrollment/verify/")
    expect(page, 200, text='name="nonce"')
    sms_code = _wait_code("SMS", lambda: [m["text"] for m in sms.to(holder.phone)], SMS_CODE)
    email_code = _wait_code("email", lambda: [m.body for m in smtp.to(holder.email)], EMAIL_CODE)
    return Ready(browser=browser, sms_code=sms_code, email_code=email_code, form=hidden_fields(page.body))


def verify_right(user: Ready) -> list[float]:
    form = {**user.form, "action": "verify", "sms_code": user.sms_code, "email_code": user.email_code}
    response = user.browser.post("/enrollment/verify/", form)
    expect(response, 302, location="/enrollment/methods/")
    return [response.seconds]


def verify_wrong(user: Ready) -> list[float]:
    """One wrong try; the same user comes back WRONG_TRIES times, interleaved with the others."""
    wrong = user.sms_code[:-1] + str((int(user.sms_code[-1]) + 1) % 10)
    with user.lock:
        data = {**user.form, "action": "verify", "sms_code": wrong, "email_code": user.email_code}
        response = user.browser.post("/enrollment/verify/", data)
        expect(response, 400, text='id="error"')
        user.form = hidden_fields(response.body)  # each answer carries the form's next nonce
    return [response.seconds]


def _case(database: str, case: str, outcome: tuple[list[list[float]], list[str], float]) -> CaseResult:
    results, errors, wall = outcome
    return CaseResult(
        database=database,
        case=case,
        latencies=[s for user in results for s in user],
        wall_seconds=wall,
        failures=errors,
    )


def bench_database(database: str, args: argparse.Namespace) -> list[CaseResult]:
    right_users = args.users
    wrong_users = math.ceil(args.users / WRONG_TRIES)  # as many wrong-code requests as right ones
    holders = holders_make(right_users + wrong_users)
    with tempfile.TemporaryDirectory(prefix="guichet-bench-") as tmp:
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
            began = time.monotonic()
            guichet_cli(["migrate"], env, timeout=120)
            cards = data_dir / "cards.csv"
            cards.write_text(holders_csv(holders), encoding="utf-8")
            guichet_cli(["cards", "import", str(cards)], env, timeout=120)
            took = time.monotonic() - began
            log(f"{database}: migrated, imported {len(holders)} cardholders in {took:.1f} s")

            server = Server(env, port=port, workers=2, threads=8, log=data_dir / "server.log")
            server.start()
            if database == "postgresql":
                backends = PostgresBackends(database_url)
            base = server.base_url
            c = args.concurrency

            began = time.monotonic()
            ready, errors, _ = run_pool(
                holders,
                lambda h: prepare(h, base_url=base, smtp=smtp, sms=sms),
                concurrency=c,
                deadline=args.deadline,
            )
            log(f"{database}: {len(ready)} users on the codes page in {time.monotonic() - began:.1f} s")
            if errors:
                log(f"{database}: {len(errors)} user(s) could not get their codes, e.g. {errors[0]}")
            results = []
            if errors:
                results.append(CaseResult(database=database, case="(setup: email, codes)", failures=errors))
            right, wrong = ready[:right_users], ready[right_users:]

            cases = [
                ("GET /healthz (baseline)", range(args.users * HEALTHZ_PER_USER), lambda _: healthz(base)),
                ("verify, right codes", right, verify_right),
                # Each user's tries come a whole round apart, so they rarely wait for each other.
                ("verify, wrong code", wrong * WRONG_TRIES, verify_wrong),
            ]
            paths = ["GET /healthz", "POST /enrollment/verify/", "POST /enrollment/verify/"]
            for (name, items, work), logged in zip(cases, paths, strict=True):
                server_cpu, client_cpu, log_at = server.cpu_seconds(), time.process_time(), server.log_size()
                database_cpu = backends.cpu_seconds() if backends else {}
                result = _case(database, name, run_pool(items, work, concurrency=c, deadline=args.deadline))
                result.server_cpu_seconds = server.cpu_seconds() - server_cpu
                if backends:
                    result.database_cpu_seconds = backends.used_since(database_cpu)
                time.sleep(0.2)  # let the last access log lines reach the file
                result.server_ms = server.access_ms(log_at, *logged.split(" "))
                result.peak_rss_kib = server.peak_rss_kib()
                results.append(result)
                log(
                    f"{database}: {name}: {result.requests} requests, {result.throughput:.0f} req/s; "
                    f"CPU used: server {result.server_cpu_seconds:.1f} s, "
                    f"bench client {time.process_time() - client_cpu:.1f} s in {result.wall_seconds:.1f} s"
                )
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
    parser.add_argument("--users", type=int, default=400, help="timed verifications per case (default 400)")
    parser.add_argument("--concurrency", type=int, default=16, help="virtual users at once (default 16)")


def main(argv: list[str] | None = None) -> int:
    return bench_main(
        "Code verification",
        bench_database,
        doc=__doc__,
        pg_url=DEFAULT_PG_URL,
        arguments=arguments,
        positive=("users", "concurrency"),
        budget="seconds before users stop starting",
        describe=lambda args: (
            f"{args.users} users per case, concurrency {args.concurrency}, server 2 workers x 8 threads"
        ),
        argv=argv,
    )


if __name__ == "__main__":
    sys.exit(main())
