"""The benches' figures: percentiles, one case's results and the Markdown table of them all."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field


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
