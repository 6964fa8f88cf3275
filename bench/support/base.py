"""What every module of the bench support needs: the progress log and the bench's own error."""

from __future__ import annotations

import sys


def log(message: str) -> None:
    """Progress goes to standard error, so standard output holds only the results."""
    print(message, file=sys.stderr, flush=True)


class BenchError(Exception):
    """The bench could not run as planned (server did not start, a peer is missing...)."""
