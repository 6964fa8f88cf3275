"""`guichet` sub-commands of this area, registered by guichet/cli.py (keep imports inside functions)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add this area's sub-commands to the `guichet` parser."""
