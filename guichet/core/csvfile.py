"""The frame of an uploaded CSV file, checked whole before anything is written.

The card file and the subscriber file share it: the size limit, UTF-8 decoding (a BOM is allowed,
spreadsheets write one), the header, blank lines, the field count and "no rows". Each importer
gives what only it knows: its columns, how to read one row, and what rows may not repeat.

Every problem is reported with its line number (1 is the header; 0 is the file as a whole), so a
refused file can be fixed in one go rather than one error per upload.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from typing import TypeVar

R = TypeVar("R")

MAX_BYTES = 50 * 1024 * 1024

# (line number, message): what the importers report and the CLI and admin show as "file:line: ...".
LineError = tuple[int, str]


class RowInvalid(ValueError):
    """Raised by a row reader: every problem of the row, each reported on the row's line."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = list(problems)


def csv_parse(
    data: bytes,
    *,
    required: Sequence[str],
    optional: Sequence[str] = (),
    read_row: Callable[[int, dict[str, str]], R],
    accept: Callable[[int, R], str | None] | None = None,
    rows_name: str,
    max_bytes: int = MAX_BYTES,
) -> tuple[list[R], list[LineError]]:
    """Check the whole file; return its rows, or every error with its line number.

    `read_row(line, fields)` gets the row's fields by lower-case column name (an optional column
    absent from the header is absent from the dict) and returns the row or raises `RowInvalid`.
    `accept(line, row)`, called in file order on the rows `read_row` took, returns why the row
    clashes with an earlier one (a duplicate), or None; it keeps what it needs between calls.
    `rows_name` names the rows in "no <rows_name> rows after the header".
    The rows are returned even when there are errors; callers write nothing unless errors is empty.
    """
    if len(data) > max_bytes:
        return [], [(0, f"file larger than {max_bytes // (1024 * 1024)} MiB")]
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return [], [(data[: exc.start].count(b"\n") + 1, "not UTF-8 text")]
    reader = csv.reader(io.StringIO(text, newline=""))
    header = _columns(next(reader, None), required, optional)
    if isinstance(header, str):
        return [], [(1, header)]
    errors: list[LineError] = []
    rows: list[R] = []
    for values in reader:
        line = reader.line_num  # the physical line where the record ends (quoted fields may span lines)
        if not any(v.strip() for v in values):
            continue
        if len(values) != len(header):
            errors.append((line, f"expected {len(header)} fields, found {len(values)}"))
            continue
        try:
            row = read_row(line, dict(zip(header, values, strict=True)))
        except RowInvalid as invalid:
            errors.extend((line, problem) for problem in invalid.problems)
            continue
        clash = accept(line, row) if accept is not None else None
        if clash is not None:
            errors.append((line, clash))
            continue
        rows.append(row)
    if not rows and not errors:
        errors.append((1, f"no {rows_name} rows after the header"))
    return rows, errors


def _columns(header: list[str] | None, required: Sequence[str], optional: Sequence[str]) -> list[str] | str:
    """The header's column names (trimmed, lower case), or the message refusing it.

    Columns may come in any order, each once: all the required ones, any of the optional ones.
    """
    expected = ",".join(required)
    if optional:
        expected += " and optionally " + ",".join(optional)
    if header is None:
        return f"empty file: expected the header {expected}"
    names = [h.strip().lower() for h in header]
    if len(set(names)) != len(names) or not set(required) <= set(names) <= {*required, *optional}:
        # Without optional columns the header is a reordering of the required ones: say "exactly".
        return f"header must be {'the' if optional else 'exactly the'} columns {expected}"
    return names
