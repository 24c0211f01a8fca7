"""The one link codec: a table of fields writes a page's settings into a URL, reads them back and falls back by one rule.

Modelled on TensorFlow Playground's `State.PROPS`: each `Field` is a setting with its type, default,
the values it may take (choices or bounds) and whether a lecturer may lock it; a `Table` is a page's
fields in order with the check that says whether their values go together. The URL stays readable
so a lecturer can check or hand-edit it: `?lesson=1`, then only the settings that differ from their
defaults (tuples as comma lists, booleans as 1/0, None as "auto"), then `hide=` the locked ones.

A link is untrusted input (students share, mistype and truncate them): decoding never raises. The one
fallback rule: a value that cannot be read or is not its field's to take keeps its default; then the
whole link is checked, and if its values do not go together, starting from the defaults each value is
added (in the table's order, again and again) while the whole stays valid, until nothing more fits.
Every value left out is named in plain words, quoting at most QUOTE_CHARS of it on one line (a page
shows them as text: nets.text.plain).
"""
from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlencode

from nets.parse import int_list
from nets.text import one_line

LESSON_FLAG, HIDE = "lesson", "hide"
# The app's own parameters, never a link's settings: the page's running job, and who this is (the
# identity's names: nets.server.identity.URL_PARAMS is this set; a lesson link never carries a sign-in)
JOB_PARAM = "job"
ANON_PARAM, NAME_PARAM, TOKEN_PARAM, LECTURER_PARAM = "me", "student", "token", "lecturer"
IDENTITY_PARAMS = frozenset({ANON_PARAM, NAME_PARAM, TOKEN_PARAM, LECTURER_PARAM})
PAGE_PARAMS = frozenset({JOB_PARAM, *IDENTITY_PARAMS})
MAX_VALUE_CHARS = 300             # no setting needs more; a longer value is a broken or hostile link
QUOTE_CHARS = 80                  # how much of a key or a value a problem quotes
NONE_WORDS = ("", "auto")
TRUE_WORDS, FALSE_WORDS = ("1", "true", "yes"), ("0", "false", "no")


def value_text(value, digits: int | None = None) -> str:
    """A value as a link writes it (None: "auto", lists comma-separated; floats exact, or to `digits`)."""
    if value is None:
        return "auto"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, tuple):
        return ",".join(value_text(v, digits) for v in value)
    if isinstance(value, float):
        return f"{value:.{digits}g}" if digits else repr(value)  # repr: the shortest text that reads back exactly
    return str(value)


def parse_value(kind: str, raw: str):
    """The value of a setting of type `kind` (as a dataclass states it) from its URL text; ValueError says why not."""
    if kind == "str":
        return raw
    if kind.endswith("| None") and raw.strip().lower() in NONE_WORDS:
        return None
    kind = kind.removesuffix(" | None")
    if kind == "bool":
        word = raw.strip().lower()
        if word in TRUE_WORDS + FALSE_WORDS:
            return word in TRUE_WORDS
        raise ValueError(f"'{quote(raw)}' is not 1 or 0")
    if kind == "int":
        try:
            return int(raw)
        except ValueError:
            raise ValueError(f"'{quote(raw)}' is not a whole number") from None
    if kind == "float":
        try:
            value = float(raw)
        except ValueError:
            raise ValueError(f"'{quote(raw)}' is not a number") from None
        if not math.isfinite(value):
            raise ValueError(f"'{quote(raw)}' is not a finite number")
        return value
    if kind == "tuple[int, ...]":  # sizes: read like a typed list ("256,128", "256 128")
        return int_list(raw, "sizes")  # its ParseError is a ValueError that says what is wrong
    if kind == "tuple[float, ...]":  # every item a number: an empty one is a mistake, not a gap
        return tuple(parse_value("float", v) for v in raw.split(","))
    if kind.startswith("tuple["):
        return tuple(v.strip() for v in raw.split(",") if v.strip())
    raise ValueError(f"settings of type {kind} cannot come from a link")


def quote(text: str, limit: int = QUOTE_CHARS) -> str:
    """A key or value of a link as a problem quotes it: one line, at most `limit` characters."""
    return one_line(text, limit)


@dataclass(frozen=True)
class Field:
    """One setting a link can carry (one row of TF Playground's State.PROPS)."""
    name: str                        # its name in the URL, the same as its dataclass field's
    kind: str                        # its type as the dataclass states it: "int", "tuple[str, ...]", "bool | None"
    default: object
    choices: tuple = ()              # the values it may take (each item's, for a tuple); (): any of its type
    bounds: tuple | None = None      # (low, high, step) a number (each item of a tuple) keeps to; None: any
    lockable: bool = True            # a lecturer may lock it (hide=…)
    after: bool = False              # settled after the others, against them (a network's starting weights)
    digits: int | None = None        # significant digits a float keeps in the URL; None: exactly
    max_chars: int = MAX_VALUE_CHARS
    write_text: Callable | None = None  # a value with its own text form (a network's layers): its writer
    read_text: Callable | None = None   # ...and its reader, raising ValueError that says why

    def text(self, value) -> str:
        return self.write_text(value) if self.write_text else value_text(value, self.digits)

    def read(self, raw: str):
        """The value in `raw`; ValueError says why it cannot be read."""
        return self.read_text(raw) if self.read_text else parse_value(self.kind, raw)

    def refusal(self, value) -> str | None:
        """Why `value` is not one this field takes (outside its choices or bounds), or None."""
        if value is None:
            return None
        items, each = (value, "each ") if isinstance(value, tuple) else ((value,), "")
        if self.choices and any(v not in self.choices for v in items):
            return f"{each}must be one of {', '.join(value_text(c) for c in self.choices)}"
        if self.bounds:
            low, high, step = self.bounds
            if any(not low <= v <= high or round((v - low) / step, 6) % 1 for v in items):
                return f"{each}must be from {low:g} to {high:g}" + (f" in steps of {step:g}" if step != 1 else "")
        return None


@dataclass(frozen=True)
class Link:
    """What a link held: a value for every field, the fields it locks, and what it got wrong, in words."""
    values: dict
    locked: frozenset[str] = frozenset()
    problems: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Table:
    """A page's fields in order (the order of the URL, of `hide=` and of the fallback) and the check
    that says why a whole set of values (one per field) does not go together, or None."""
    page: str                                  # the page's path: /train, /playground
    fields: tuple[Field, ...]
    check: Callable[[dict], str | None]

    @property
    def by_name(self) -> dict[str, Field]:
        return {f.name: f for f in self.fields}

    @property
    def lockable(self) -> list[str]:
        """The fields a lecturer may lock, in order."""
        return [f.name for f in self.fields if f.lockable]

    def defaults(self) -> dict:
        return {f.name: f.default for f in self.fields}

    def refusal(self, values: Mapping) -> str | None:
        """The first field whose value it does not take, and why; None when each field takes its own."""
        return next((f"{f.name} {why}" for f in self.fields if (why := f.refusal(values.get(f.name)))), None)

    def params(self, values: Mapping, locked=frozenset()) -> dict[str, str]:
        """A link's query parameters: the flag, the values that differ from their defaults, the locks,
        then the values settled after the others."""
        def changed(after: bool) -> dict[str, str]:
            return {f.name: f.text(values[f.name]) for f in self.fields
                    if f.after == after and values.get(f.name, f.default) != f.default}
        result = {LESSON_FLAG: "1"} | changed(False)
        if hide := [name for name in self.lockable if name in set(locked)]:
            result[HIDE] = ",".join(hide)
        return result | changed(True)

    def encode(self, values: Mapping, locked=frozenset(), base_url: str | None = "") -> str:
        """The link to this page with `values`, locking `locked`; relative ("?…") without a base URL."""
        query = urlencode(self.params(values, locked), safe=",")
        root = (base_url or "").split("?")[0].split("#")[0].rstrip("/")
        if not root:
            return "?" + query
        # st.context.url already ends in the page's path when the share box is on that page
        return f"{root if root.endswith('/' + self.page) else root + '/' + self.page}?{query}"

    def decode(self, params: Mapping) -> Link:
        """The settings in `params` by the one fallback rule (the module's docstring). Never raises."""
        fields, problems, read, locked = self.by_name, [], {}, set()
        texts = lesson_params(params)
        for key, raw in texts.items():
            f = fields.get(key)
            limit = f.max_chars if f else MAX_VALUE_CHARS
            if key == LESSON_FLAG:
                continue
            if len(raw) > limit:
                problems.append(f"{quote(key, 40)} (the value is longer than {limit} characters)")
            elif key == HIDE:
                for name in filter(None, (n.strip() for n in raw.split(","))):
                    if name in self.lockable:
                        locked.add(name)
                    else:
                        problems.append(f"hide ('{quote(name)}' is not a setting)")
            elif f is None:
                problems.append(f"{quote(key, 40)} (not a setting of this page)")
            else:
                try:
                    value = f.read(raw)
                except ValueError as e:
                    problems.append(f"{key} ({quote(str(e).rstrip('.'), MAX_VALUE_CHARS)})")
                    continue
                if why := f.refusal(value):
                    problems.append(f"{key}={quote(raw)} ({why})")
                else:
                    read[key] = value
        values = self.defaults()
        for after in (False, True):
            wanted = {f.name: read[f.name] for f in self.fields if f.after == after and f.name in read}
            values, refused = settle(values, wanted, self.check)
            problems += [f"{key}={quote(texts[key])} ({quote(why.rstrip('.'), MAX_VALUE_CHARS)})"
                         for key, why in refused.items()]
        return Link(values, frozenset(locked), problems)


def settle(base: dict, wanted: dict, check: Callable[[dict], str | None]) -> tuple[dict, dict[str, str]]:
    """The one fallback rule: `base` with as many of `wanted` as keep `check` content, and why each of the
    others was refused. Values depend on each other (hidden sizes need model=mlp, nesterov needs sgd),
    so first all of them; else, from `base`, keep adding any that keeps the whole valid until nothing
    more fits (in `wanted`'s order, so the outcome does not depend on the order of the URL)."""
    if check(base | wanted) is None:
        return base | wanted, {}
    kept, pending, changed = dict(base), dict(wanted), True
    while changed and pending:
        changed = False
        for key in list(pending):
            if check(candidate := kept | {key: pending[key]}) is None:
                kept, changed = candidate, True
                del pending[key]
    return kept, {key: check(kept | {key: value}) or "it does not fit the other settings"
                  for key, value in pending.items()}


def _last(value) -> str:
    """One text per parameter: Streamlit gives the last of repeated keys; parse_qs gives lists."""
    if isinstance(value, (list, tuple)):
        return str(value[-1]) if value else ""
    return str(value)


def lesson_params(params: Mapping) -> dict[str, str]:
    """The parameters that make up the link (everything but the page's own), as single texts."""
    return {str(k): _last(v) for k, v in params.items() if k not in PAGE_PARAMS}


def is_lesson(params: Mapping) -> bool:
    return _last(params.get(LESSON_FLAG, "")).strip() == "1"


def signature(params: Mapping) -> str:
    """The same text for the same link, whatever the parameter order: a page applies it once per session."""
    return urlencode(sorted(lesson_params(params).items()))
