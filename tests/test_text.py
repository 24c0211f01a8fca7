"""Other people's text is shown as text (nets.text): Markdown, HTML, links and formulas come out inert."""
import re

from nets.text import csv_cell, one_line, plain

PHISH = ("**Session expired.** [Sign in again here](http://example.invalid/phish) "
         "![b](http://example.invalid/beacon.png) <img src=x> :red[alert] $x^2$ # head")


def unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def test_every_markdown_character_is_escaped_and_nothing_else_changes():
    out = plain(PHISH)
    assert unescape(out).replace("\u2060", "") == PHISH  # and the word joiners that stop bare links
    bare = re.sub(r"\\.", "", out)  # what is left once every escaped character is taken out
    assert not re.search(r"[*\[\]()!<>:$#\\/]", bare), bare
    assert plain("alice 42 Zoë") == "alice 42 Zoë"  # letters, digits, spaces untouched


def test_control_characters_and_length():
    assert one_line("a\nb\x00c\x1b[31m") == "a b c [31m"
    assert plain("line\n# heading") == r"line \# heading"
    assert one_line("x" * 50, limit=10) == "x" * 9 + "…"
    assert one_line("short", limit=10) == "short"


def test_csv_cells_that_a_spreadsheet_would_run():
    for formula in ('=HYPERLINK("http://x","y")', "+1", "-2+3", "@SUM(A1)", "\tx"):
        assert csv_cell(formula) == "'" + formula
    assert csv_cell("lenet · mnist") == "lenet · mnist"
    assert csv_cell(-0.5) == -0.5 and csv_cell(3) == 3
