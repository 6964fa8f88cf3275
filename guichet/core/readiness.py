"""Whether this process can serve: the database answers and carries every migration of the code.

`/healthz` says the process is alive; `/readyz` and `guichet serve` ask this module, so that a server
on an empty or older database (a wrong path, a forgotten `guichet migrate`) says so instead of
answering each request with an error.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder


@dataclass(frozen=True)
class Readiness:
    reachable: bool
    pending: tuple[str, ...]  # "app.migration" not applied, in no set order
    problem: str = ""  # why the database could not be asked, for an operator's message

    @property
    def ready(self) -> bool:
        return self.reachable and not self.pending


@functools.cache
def _expected() -> frozenset[tuple[str, str]]:
    """The migrations on disk, read once: the code does not change under a running process."""
    loader = MigrationLoader(None, ignore_no_migrations=True)
    return frozenset(loader.graph.nodes)


def database_readiness(alias: str = DEFAULT_DB_ALIAS) -> Readiness:
    """One query (the applied migrations) against the database of `alias`."""
    try:
        applied = set(MigrationRecorder(connections[alias]).applied_migrations())
    except DatabaseError as exc:  # unreachable, wrong credentials, no such database
        return Readiness(reachable=False, pending=(), problem=str(exc).strip().splitlines()[0][:300])
    pending = sorted(f"{app}.{name}" for app, name in _expected() - applied)
    return Readiness(reachable=True, pending=tuple(pending))
