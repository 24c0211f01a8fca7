"""Lesson links: a Train-page configuration, and the controls a lecturer hides, as URL query parameters.

The URL stays readable so a lecturer can check or hand-edit it: only the settings that differ from
TrainConfig's defaults appear, tuples as comma lists, booleans as 1/0. A link is untrusted input
(students share, mistype and truncate them): decoding never raises; whatever cannot be used falls
back to the default and is listed in plain words, quoting at most QUOTE_CHARS of a value on one line
(a page shows the problems as text: nets.text.plain).
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from urllib.parse import urlencode

from nets.engine.config import ConfigError, TrainConfig, validate
from nets.parse import int_list
from nets.server.identity import URL_PARAMS
from nets.text import one_line

LESSON_FLAG, HIDE, FOUR = "lesson", "hide", "four"  # four: train as the coursework's four configurations
# The app's own parameters (a running job, who this is: nets.server.identity), not part of a lesson: they
# are neither settings the link got wrong nor part of the lesson's signature
PAGE_PARAMS = frozenset({"job", *URL_PARAMS})
MAX_VALUE_CHARS = 300             # no setting needs more; a longer value is a broken or hostile link
QUOTE_CHARS = 80                  # how much of a key or a value a problem quotes
FIELD_TYPES = {f.name: f.type for f in fields(TrainConfig)}
DEFAULTS = TrainConfig()
NONE_WORDS = ("", "auto")
TRUE_WORDS, FALSE_WORDS = ("1", "true", "yes"), ("0", "false", "no")


@dataclass(frozen=True)
class Lesson:
    cfg: TrainConfig
    hidden: frozenset[str] = frozenset()   # the settings a student sees locked (and "four", the switch)
    problems: list[str] = field(default_factory=list)
    four: bool = False


def value_text(value) -> str:
    """A setting's value as a link writes it (None: "auto", lists comma-separated)."""
    if value is None:
        return "auto"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, tuple):
        return ",".join(value_text(v) for v in value)
    if isinstance(value, float):
        return repr(value)  # the shortest text that reads back as exactly this float
    return str(value)


def encode(cfg: TrainConfig, hidden=frozenset(), base_url: str | None = "", page: str = "train",
           four: bool = False) -> str:
    """The lesson URL for `cfg` on `page`, locking the `hidden` controls; relative ("?…") without a base."""
    params = [(LESSON_FLAG, "1")]
    params += [(f.name, value_text(getattr(cfg, f.name))) for f in fields(TrainConfig)
               if getattr(cfg, f.name) != getattr(DEFAULTS, f.name)]
    if four:
        params.append((FOUR, "1"))
    order = list(FIELD_TYPES) + [FOUR]
    shown_hidden = sorted(set(hidden), key=lambda h: (order.index(h) if h in FIELD_TYPES else len(order), h))
    if shown_hidden:
        params.append((HIDE, ",".join(shown_hidden)))
    query = urlencode(params, safe=",")
    root = (base_url or "").split("?")[0].split("#")[0].rstrip("/")
    if not root:
        return "?" + query
    # st.context.url already ends in the page's path when the share box is on that page
    if not root.endswith("/" + page):
        root += "/" + page
    return f"{root}?{query}"


def parse_value(kind: str, raw: str):
    """The value of a setting of type `kind` from its URL text; ValueError says why not."""
    if kind == "str":
        return raw
    if kind.endswith("| None") and raw.strip().lower() in NONE_WORDS:
        return None
    kind = kind.removesuffix(" | None")
    if kind == "bool":
        word = raw.strip().lower()
        if word in TRUE_WORDS + FALSE_WORDS:
            return word in TRUE_WORDS
        raise ValueError(f"'{_quote(raw)}' is not 1 or 0")
    if kind == "int":
        try:
            return int(raw)
        except ValueError:
            raise ValueError(f"'{_quote(raw)}' is not a whole number") from None
    if kind == "float":
        try:
            value = float(raw)
        except ValueError:
            raise ValueError(f"'{_quote(raw)}' is not a number") from None
        if not math.isfinite(value):
            raise ValueError(f"'{_quote(raw)}' is not a finite number")
        return value
    if kind == "tuple[int, ...]":  # sizes: hidden, channels, fc
        return int_list(raw, "sizes")  # its ParseError is a ValueError that says what is wrong
    if kind.startswith("tuple["):
        return tuple(v.strip() for v in raw.split(",") if v.strip())
    raise ValueError(f"settings of type {kind} cannot come from a link")


def _last(value) -> str:
    """One text per parameter: Streamlit gives the last of repeated keys; parse_qs gives lists."""
    if isinstance(value, (list, tuple)):
        return str(value[-1]) if value else ""
    return str(value)


def lesson_params(params: Mapping) -> dict[str, str]:
    """The parameters that make up the lesson (everything but the page's own), as single texts."""
    return {str(k): _last(v) for k, v in params.items() if k not in PAGE_PARAMS}


def is_lesson(params: Mapping) -> bool:
    return _last(params.get(LESSON_FLAG, "")).strip() == "1"


def signature(params: Mapping) -> str:
    """The same text for the same lesson, whatever the parameter order: applied once per session."""
    return urlencode(sorted(lesson_params(params).items()))


def decode(params: Mapping) -> Lesson:
    """The lesson in `params`. Never raises: each setting that cannot be read, is unknown, or makes
    the configuration invalid keeps its default and is named in `problems`."""
    problems: list[str] = []
    values: dict = {}
    hidden: set[str] = set()
    four = False
    texts = lesson_params(params)
    for key, raw in texts.items():
        if key == LESSON_FLAG:
            continue
        if len(raw) > MAX_VALUE_CHARS:
            problems.append(f"{_quote(key, 40)} (the value is longer than {MAX_VALUE_CHARS} characters)")
        elif key == HIDE:
            for name in (n.strip() for n in raw.split(",")):
                if name in FIELD_TYPES or name == FOUR:
                    hidden.add(name)
                elif name:
                    problems.append(f"hide ('{_quote(name)}' is not a setting)")
        elif key == FOUR:
            try:
                four = parse_value("bool", raw)
            except ValueError as e:
                problems.append(f"{key} ({e})")
        elif key not in FIELD_TYPES:
            problems.append(f"{_quote(key, 40)} (not a setting of this page)")
        else:
            try:
                values[key] = parse_value(FIELD_TYPES[key], raw)
            except ValueError as e:
                problems.append(f"{key} ({_quote(str(e).rstrip('.'), MAX_VALUE_CHARS)})")
    cfg, rejected = _valid_subset(values)
    problems += [f"{key}={_quote(texts[key])} ({_quote(why.rstrip('.'), MAX_VALUE_CHARS)})" for key, why in rejected.items()]
    return Lesson(cfg, frozenset(hidden), problems, four)


def _quote(text: str, limit: int = QUOTE_CHARS) -> str:
    """A key or value of the link as a problem quotes it: one line, at most `limit` characters."""
    return one_line(text, limit)


def _check(cfg: TrainConfig) -> str | None:
    try:
        validate(cfg)
    except ConfigError as e:
        return str(e)
    return None


def _valid_subset(values: dict) -> tuple[TrainConfig, dict[str, str]]:
    """As many of `values` as keep the configuration valid, and why each of the others was refused.
    Settings depend on each other (hidden sizes need model=mlp, nesterov needs sgd), so keep adding
    any setting that keeps the whole valid until nothing more fits."""
    if _check(TrainConfig(**values)) is None:
        return TrainConfig(**values), {}
    # in declaration order, so the outcome does not depend on the order of the URL's parameters
    cfg, pending = DEFAULTS, {k: values[k] for k in FIELD_TYPES if k in values}
    changed = True
    while changed and pending:
        changed = False
        for key in list(pending):
            candidate = replace(cfg, **{key: pending[key]})
            if _check(candidate) is None:
                cfg, changed = candidate, True
                del pending[key]
    return cfg, {key: _check(replace(cfg, **{key: value})) or "it does not fit the other settings"
                 for key, value in pending.items()}
