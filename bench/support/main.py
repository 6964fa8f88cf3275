"""A bench's main(): its command line, a run on each database, the heading, the table, the exit status.

Every bench measures the same way around what it measures; `bench_main` is that way, and a bench's
main() names only what differs: its title, its own options, the function that measures one database.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from collections.abc import Callable, Sequence

from bench.support.base import BenchError, log
from bench.support.figures import CaseResult, table

DATABASES = ("sqlite", "postgresql", "both")


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


def _options(dests: Sequence[str]) -> str:
    """`--a`, `--a and --b`, `--a, --b and --c`."""
    names = ["--" + dest.replace("_", "-") for dest in dests]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def bench_main(
    title: str,
    bench: Callable[[str, argparse.Namespace], list[CaseResult]],
    *,
    doc: str | None,
    pg_url: str,
    db: str = "both",
    arguments: Callable[[argparse.ArgumentParser], None] | None = None,
    positive: Sequence[str] = (),
    budget: str | None = None,
    describe: Callable[[argparse.Namespace], str] | None = None,
    prelude: Callable[[argparse.Namespace], str] | None = None,
    before_table: Callable[[argparse.Namespace], str] | None = None,
    after_table: Callable[[argparse.Namespace, list[CaseResult]], str] | None = None,
    argv: Sequence[str] | None = None,
) -> int:
    """Parse the command line, run `bench(database, args)` on each database of `--db`, print the
    heading and the results table; the exit status (see `exit_status`).

    The command line: `--db` (default `db`), the bench's own options (`arguments` adds them to the
    parser), `--pg-url` (default `pg_url`) and, when `budget` gives its help, `--budget` (seconds
    before users stop starting, default 170: `args.deadline` is then that instant, time.monotonic(),
    for `bench` to pass to `run_pool`). `positive` names the options (their dest) that must be above
    zero. The description is the first paragraph of `doc` (the bench's docstring).

    The output: "<title>: <describe(args)>; N CPUs, Python X, load average A before, B after" (the
    load average from before `prelude`), the text `prelude(args)` returns (work done before the
    databases' benches, e.g. measurements without a server), then, when some case was measured,
    `before_table(args)`, the table and `after_table(args, results)`.
    """
    parser = argparse.ArgumentParser(description=(doc or "").split("\n\n")[0])
    parser.add_argument("--db", choices=DATABASES, default=db)
    if arguments is not None:
        arguments(parser)
    parser.add_argument("--pg-url", default=pg_url, help="a database the bench may wipe")
    if budget is not None:
        parser.add_argument("--budget", type=float, default=170, help=budget)
    args = parser.parse_args(argv)
    values = [getattr(args, dest) for dest in positive]
    if any(value <= 0 for value in values):
        counts = all(isinstance(value, int) for value in values)
        parser.error(f"{_options(positive)} must be {'at least 1' if counts else 'positive'}")
    load_before = os.getloadavg()[0]
    prelude_text = prelude(args) if prelude is not None else None
    if budget is not None:
        args.deadline = time.monotonic() + args.budget
    results, broken = bench_each(databases_of(args.db), lambda database: bench(database, args))
    what = f"{describe(args)}; " if describe is not None else ""
    print(
        f"\n{title}: {what}{os.cpu_count() or 1} CPUs, Python {platform.python_version()}, "
        f"load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after\n"
    )
    if prelude_text is not None:
        print(prelude_text)
    if results:
        if before_table is not None:
            print(before_table(args))
        print(table(results))
        if after_table is not None:
            print(after_table(args, results))
    return exit_status(results, broken)
