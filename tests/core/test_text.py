"""`one_line`: text written by others (an AReq, a merchant) made fit for an SMS, an email or a page."""

from __future__ import annotations

import pytest
from django.template import Context, Template

from guichet.core.text import json_text_may_be_bad, one_line


@pytest.mark.parametrize(
    ("given", "shown"),
    [
        ("Shop\nVotre code est 00000000\nAppelez", "Shop Votre code est 00000000 Appelez"),
        ("a\r\nb\tc\x0bd\x0ce", "a b c d e"),
        ("line\u2028separator\u2029paragraph\x85next", "line separator paragraph next"),
        ("nul\x00bell\x07del\x7fc1\x9b", "nulbelldelc1"),
        ("\u202eevil\u202c \u200bzero\ufeffwidth\u2066iso\u2069", "evil zerowidthiso"),
        ("private\ue000use", "privateuse"),
        ("  many   spaces\u00a0\u00a0 here  ", "many spaces here"),
        ("Cafe\u0301 Crème", "Café Crème"),
        ("", ""),
        (None, ""),
    ],
)
def test_one_line_keeps_one_line_of_visible_characters(given: str | None, shown: str) -> None:
    assert one_line(given, max_length=100) == shown


def test_one_line_caps_the_length_with_an_ellipsis() -> None:
    assert one_line("x" * 41, max_length=40) == "x" * 39 + "…"
    assert one_line("x" * 40, max_length=40) == "x" * 40
    assert one_line("word " * 10, max_length=12) == "word word w…"
    assert len(one_line("a\n" * 100, max_length=40)) == 40


def test_the_page_filter_cleans_then_escapes() -> None:
    template = Template("{% load guichet_text %}<b>{{ name|one_line:20 }}</b>")
    rendered = template.render(Context({"name": "<i>Shop</i>\nVotre code 1234567890123"}))
    assert rendered == "<b>&lt;i&gt;Shop&lt;/i&gt; Votre c…</b>"


@pytest.mark.parametrize(
    ("text", "may_be_bad"),
    [
        ('{"a": "plain ascii"}', False),
        ('{"a": "caf\\u00e9"}', False),  # an escape: the pattern decides, and finds none
        ('{"a": "\\u0000"}', True),
        ('{"a": "\\uD800"}', True),
        ('{"a": "\\ufffe"}', True),
        ('{"a": "café"}', False),  # not ASCII: the pattern runs, and finds nothing
        ('{"a": "\ufdd0"}', True),  # a raw non-character
        ('{"a": "x\U0010ffff"}', True),
    ],
)
def test_json_text_may_be_bad_never_misses_an_escape_or_a_raw_non_character(
    text: str, may_be_bad: bool
) -> None:
    assert json_text_may_be_bad(text) is may_be_bad
