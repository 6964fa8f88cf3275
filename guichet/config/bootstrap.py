"""Starting Django for a command, and the frame every CSV import command shares."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Protocol, TypeVar


def django_setup(mode: str | None = None) -> None:
    if mode:
        os.environ["GUICHET_MODE"] = mode
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "guichet.config.settings")
    import django

    django.setup()


R = TypeVar("R", bound="ImportOutcome")


class ImportOutcome(Protocol):
    errors: list[tuple[int, str]]

    @property
    def ok(self) -> bool: ...


def import_file(file: str, importer: Callable[[bytes, str], R], summary: Callable[[R], str]) -> int:
    """Run an all-or-nothing CSV import: every error as `FILE:LINE: reason`, or the summary line."""
    path = Path(file)
    try:
        data = path.read_bytes()
    except OSError as exc:
        print(f"guichet: cannot read {path}: {exc.strerror}", file=sys.stderr)
        return 1
    report = importer(data, path.name)
    if not report.ok:
        for line, reason in report.errors:
            print(f"{path.name}:{line}: {reason}", file=sys.stderr)
        print(f"guichet: {len(report.errors)} error(s); nothing was imported", file=sys.stderr)
        return 1
    print(summary(report))
    return 0
