"""The in-process deliverer's doorbell. Its own module so that the outbox (services.py), which rings
it on commit, and the deliverer (worker.py), which waits on it, need not import each other."""

import threading

bell = threading.Event()


def wake() -> None:
    """Ask the deliverer to look for due messages now rather than at its next poll."""
    bell.set()
