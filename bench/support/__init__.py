"""What every bench needs: a real `guichet serve` process (server.py), HTTP clients with their own
cookies and a pool of virtual users (clients.py), the AReq bench's asyncio load (loadgen.py),
cardholders to import (cards.py), latency figures and the results table (figures.py), the server's
CPU time and peak memory from /proc (procs.py), and the main() they all share (main.py).

The benches talk to the server over loopback only, bound every wait, and stop what they start.
"""

from bench.support.base import BenchError, log
from bench.support.cards import Holder, holders_csv, holders_make, luhn_complete
from bench.support.clients import (
    Browser,
    Response,
    Unexpected,
    expect,
    healthz,
    hidden_fields,
    keepalive_request,
    run_pool,
)
from bench.support.figures import CaseResult, percentile, table
from bench.support.loadgen import WARMUP_S, request_bytes, run_case
from bench.support.main import bench_each, bench_main, databases_of, exit_status
from bench.support.procs import disk_stalls, process_tree
from bench.support.server import (
    PostgresBackends,
    Server,
    free_port,
    guichet_cli,
    guichet_env,
    postgres_reset,
    subprocess_env,
)

__all__ = [
    "WARMUP_S",
    "BenchError",
    "Browser",
    "CaseResult",
    "Holder",
    "PostgresBackends",
    "Response",
    "Server",
    "Unexpected",
    "bench_each",
    "bench_main",
    "databases_of",
    "disk_stalls",
    "exit_status",
    "expect",
    "free_port",
    "guichet_cli",
    "guichet_env",
    "healthz",
    "hidden_fields",
    "holders_csv",
    "holders_make",
    "keepalive_request",
    "log",
    "luhn_complete",
    "percentile",
    "postgres_reset",
    "process_tree",
    "request_bytes",
    "run_case",
    "run_pool",
    "subprocess_env",
    "table",
]
