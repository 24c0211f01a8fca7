"""Other people's text on a page: a run name, a lesson link's value, a class name or an expression is
shown as the characters it holds, never read as Markdown or HTML (no links, images, headings,
colours, LaTeX or emoji codes), and a spreadsheet never reads a CSV cell as a formula."""
from __future__ import annotations

import re

# Every ASCII punctuation character may be backslash-escaped in CommonMark, and an escaped one is
# always literal: escaping them all also breaks Streamlit's own directives (:red[…], :material/x:),
# LaTeX ($…$); bare web addresses need more (below).
_PUNCTUATION = re.compile(r"""([!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~])""")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")
# Streamlit's Markdown turns web addresses into links even when every character is escaped (a
# browser test found "http\:\/\/…" linked): an invisible word joiner where an address or an e-mail
# address would start (after "scheme:", inside "www.", before "@") keeps it text.
_AUTOLINK = re.compile(r"(?<=:)(?=//)|(?<=www)(?=\.)|(?=@)", re.IGNORECASE)
WORD_JOINER = "\u2060"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # what makes a spreadsheet read a cell as a formula


def one_line(text, limit: int | None = None) -> str:
    """`text` on one line: control characters (newlines, NUL, escape codes) become a space, and a
    text longer than `limit` ends in an ellipsis."""
    flat = _CONTROL.sub(" ", str(text))
    return flat if limit is None or len(flat) <= limit else flat[:max(limit - 1, 0)] + "…"


def plain(text, limit: int | None = None) -> str:
    """`text` (any object) for a Markdown context (st.markdown, st.caption, st.info, widget labels):
    one line, every Markdown character escaped and web addresses broken by an invisible word joiner,
    so it shows exactly as typed and links nowhere."""
    return _PUNCTUATION.sub(r"\\\1", _AUTOLINK.sub(WORD_JOINER, one_line(text, limit)))


def csv_cell(value):
    """A value for a CSV cell: text that a spreadsheet would run as a formula (=, +, -, @ first) gets
    a leading apostrophe, so it shows as text; numbers stay numbers."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def shown(escaped: str) -> str:
    """What a reader sees of plain()'s output (or of any Markdown whose only markup is backslash
    escapes): the escapes removed. For tests and logs that compare what a page shows."""
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", str(escaped)).replace(WORD_JOINER, "")
