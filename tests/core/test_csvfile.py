"""The CSV frame both importers share: size, encoding, header, field counts, row and cross-row errors."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from guichet.core.csvfile import MAX_BYTES, RowInvalid, csv_parse


@dataclass(frozen=True)
class Row:
    line: int
    code: str
    label: str | None  # None: the file has no label column


def read_row(line: int, fields: dict[str, str]) -> Row:
    problems = []
    code = fields["code"].strip()
    if not code.isdigit():
        problems.append("code: must be digits")
    if fields.get("label") == "!":
        problems.append("label: must not be !")
    if problems:
        raise RowInvalid(problems)
    return Row(line=line, code=code, label=fields.get("label"))


def parse(data: bytes, **options):
    options.setdefault("required", ("code", "size"))
    return csv_parse(data, read_row=read_row, rows_name="thing", **options)


def test_rows_come_back_with_their_line_numbers():
    rows, errors = parse(b"code,size\n1,a\n2,b\n")
    assert errors == []
    assert rows == [Row(2, "1", None), Row(3, "2", None)]


def test_columns_may_come_in_any_order_in_any_case_with_spaces_and_a_bom():
    rows, errors = parse("\ufeff Size ,CODE\nx,7\n".encode(), optional=("label",))
    assert (rows, errors) == ([Row(2, "7", None)], [])


def test_optional_columns_are_read_when_present():
    rows, errors = parse(b"code,label,size\n7,seven,x\n", optional=("label",))
    assert (rows, errors) == ([Row(2, "7", "seven")], [])


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty file: expected the header code,size"),
        (b"code\n1\n", "header must be exactly the columns code,size"),
        (b"code,size,extra\n1,2,3\n", "header must be exactly the columns code,size"),
        (b"code,code,size\n1,1,2\n", "header must be exactly the columns code,size"),
        (b"\n1,2\n", "header must be exactly the columns code,size"),
    ],
)
def test_a_header_without_optional_columns_must_be_exactly_the_columns(data, message):
    assert parse(data) == ([], [(1, message)])


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty file: expected the header code,size and optionally label,note"),
        (b"code,label\n1,2\n", "header must be the columns code,size and optionally label,note"),
        (b"code,size,other\n1,2,3\n", "header must be the columns code,size and optionally label,note"),
        (
            b"code,size,label,LABEL\n1,2,3,4\n",
            "header must be the columns code,size and optionally label,note",
        ),
    ],
)
def test_a_header_with_optional_columns_says_so(data, message):
    assert parse(data, optional=("label", "note")) == ([], [(1, message)])


def test_blank_lines_are_skipped_but_counted():
    rows, errors = parse(b"code,size\n\n1,a\n , \n\r\n2,b\n\n")
    assert errors == []
    assert [row.line for row in rows] == [3, 6]


def test_a_wrong_field_count_is_an_error_on_its_line_and_the_other_rows_are_checked():
    rows, errors = parse(b"code,size\n1\n2,b,c\nx,y\n4,d\n")
    assert errors == [
        (2, "expected 2 fields, found 1"),
        (3, "expected 2 fields, found 3"),
        (4, "code: must be digits"),
    ]
    assert rows == [Row(5, "4", None)]


def test_every_problem_of_a_row_is_reported_on_its_line():
    _, errors = parse(b"code,label,size\nx,!,1\n", optional=("label",))
    assert errors == [(2, "code: must be digits"), (2, "label: must not be !")]


def test_a_quoted_field_over_two_lines_reports_the_line_where_the_record_ends():
    _, errors = parse(b'code,size\n"x","two\nlines"\n')
    assert errors == [(3, "code: must be digits")]


def test_the_size_limit_is_checked_before_anything_else():
    assert parse(b"\xff" * (MAX_BYTES + 1)) == ([], [(0, "file larger than 50 MiB")])
    assert parse(b"code,size\n", max_bytes=10) == ([], [(1, "no thing rows after the header")])
    assert parse(b"code,size\n\n", max_bytes=10) == ([], [(0, "file larger than 0 MiB")])


def test_text_not_in_utf8_is_refused_with_the_line_of_the_first_bad_byte():
    assert parse(b"code,size\n1,a\n2,caf\xe9\n") == ([], [(3, "not UTF-8 text")])
    assert parse("code,size\n1,café\n".encode("utf-16")) == ([], [(1, "not UTF-8 text")])


def test_accept_refuses_a_row_that_clashes_with_an_earlier_one():
    seen: dict[str, int] = {}
    calls = []

    def accept(line: int, row: Row) -> str | None:
        calls.append(line)
        if row.code in seen:
            return f"code: same code as line {seen[row.code]}"
        seen[row.code] = line
        return None

    rows, errors = parse(b"code,size\n1,a\nx,b\n1,c\n2,d\n", accept=accept)
    assert errors == [(3, "code: must be digits"), (4, "code: same code as line 2")]
    assert rows == [Row(2, "1", None), Row(5, "2", None)]
    assert calls == [2, 4, 5]  # only the rows read_row took, in file order


@pytest.mark.parametrize("data", [b"code,size\n", b"code,size\n\n , \n", b"\xef\xbb\xbfcode,size\r\n"])
def test_a_header_without_rows_is_an_error(data):
    assert parse(data) == ([], [(1, "no thing rows after the header")])


def test_no_rows_is_not_reported_on_top_of_the_rows_errors():
    assert parse(b"code,size\nx,a\n") == ([], [(2, "code: must be digits")])
