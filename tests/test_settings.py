"""nets/settings.py: every NNLAB_* variable stated once (its default, check and meaning), read nowhere else."""
import ast
import logging
import re
from pathlib import Path

import pytest

from nets import settings
from nets.settings import SETTINGS, TABLE

ROOT = Path(__file__).resolve().parent.parent
CODE = sorted([*(ROOT / "nets").rglob("*.py"), *(ROOT / "pages").rglob("*.py"), ROOT / "app.py"])
NAME = re.compile(r"NNLAB_[A-Z0-9_]*[A-Z0-9]")


def test_the_table_parses():
    assert len(SETTINGS) == len(TABLE), "a variable is listed twice"
    for s in TABLE:
        assert NAME.fullmatch(s.name), s.name
        assert s.kind in (int, float, str, bool, Path), s.name
        assert s.meaning.strip(), s.name
        assert settings.get(s.name, environ={}) == s.default  # unset: the default
        assert settings.get(s.name, environ={s.name: "  "}) == s.default  # empty: the default
        assert not settings.is_set(s.name, environ={})
        if s.default is None:
            continue
        assert isinstance(s.default, s.kind), f"{s.name}'s default is no {s.kind.__name__}"
        # The default itself passes the check: written out, it reads back as itself.
        text = str(int(s.default)) if s.kind is bool else str(s.default)
        assert s.parse(text) == s.default, s.name
        assert not s.choices or s.default in s.choices, s.name


def test_values_are_parsed_by_their_kind():
    env = {"NNLAB_MAX_JOBS": "3", "NNLAB_STOP_GRACE_S": "0.25", "NNLAB_INDEX_WRITES": "0",
           "NNLAB_CHECKPOINTS": "/tmp/runs", "NNLAB_JOB_BACKEND": " thread ", "NNLAB_DISK_BUDGET_MB": "0",
           "NNLAB_BUDGET_PARAMS": "5e3"}
    got = {name: settings.get(name, environ=env) for name in env}
    assert got == {"NNLAB_MAX_JOBS": 3, "NNLAB_STOP_GRACE_S": 0.25, "NNLAB_INDEX_WRITES": False,
                   "NNLAB_CHECKPOINTS": Path("/tmp/runs"), "NNLAB_JOB_BACKEND": "thread", "NNLAB_DISK_BUDGET_MB": 0,
                   "NNLAB_BUDGET_PARAMS": 5000}
    assert all(settings.is_set(name, environ=env) for name in env)
    assert settings.get("NNLAB_INDEX_WRITES", environ={"NNLAB_INDEX_WRITES": "1"}) is True


@pytest.mark.parametrize("name, bad", [
    ("NNLAB_MAX_JOBS", "two"), ("NNLAB_MAX_JOBS", "0"),          # not a number; below the minimum
    ("NNLAB_DISK_BUDGET_MB", "-5"), ("NNLAB_STOP_GRACE_S", "soon"),
    ("NNLAB_WORKER_NICE", "40"),                                 # above the maximum
    ("NNLAB_JOB_BACKEND", "gpu"),                                # not one of the choices
    ("NNLAB_INDEX_WRITES", "maybe"), ("NNLAB_MAX_IMAGE_PIXELS", "lots"),
])
def test_a_mistyped_value_falls_back_to_the_default_and_is_logged(name, bad, caplog):
    with caplog.at_level(logging.WARNING, logger="nnlab.settings"):
        assert settings.get(name, environ={name: bad}) == SETTINGS[name].default
    assert name in caplog.text and repr(bad) in caplog.text
    assert not settings.is_set(name, environ={name: bad})


def test_the_modules_that_read_limits_fall_back_too(monkeypatch, tmp_path):
    """What budget.py and upload.py did on their own before the table: a mistyped limit leaves the default."""
    from nets.engine.imagefile import DEFAULT_MAX_PIXELS, max_pixels
    from nets.server import budget, upload
    for name in budget.ENV.values():
        monkeypatch.setenv(name, "lots")
    assert budget.current(tmp_path) == budget.machine_defaults()
    monkeypatch.setenv("NNLAB_BUDGET_PARAMS", "5000")
    assert budget.current(tmp_path).params == 5000
    for name, var in upload.LIMITS.items():
        monkeypatch.setenv(var, "x")
        assert upload.limit(name) == SETTINGS[var].default
    monkeypatch.setenv("NNLAB_UPLOADS_PER_STUDENT", "2")
    assert upload.limit("uploads") == 2
    monkeypatch.setenv("NNLAB_MAX_IMAGE_PIXELS", "many")
    assert max_pixels() == DEFAULT_MAX_PIXELS == SETTINGS["NNLAB_MAX_IMAGE_PIXELS"].default
    monkeypatch.setenv("NNLAB_MAX_IMAGE_PIXELS", "1000")
    assert max_pixels() == 1000


def environment_reads(tree: ast.AST):
    """(line, key) of each read of the environment: os.environ[k], os.environ.get/pop/setdefault(k),
    os.getenv(k), k in os.environ. `key` is the variable's name when written literally, else None.
    Passing the whole environment on (to a child process: {**os.environ}, os.environ.items()) reads no
    variable and is not listed."""
    def environ(node):
        return ast.unparse(node).split(".")[-1] == "environ"

    def key(node):
        return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None

    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and node.args:
            f = node.func
            if (isinstance(f, ast.Attribute) and f.attr in ("get", "pop", "setdefault") and environ(f.value)) \
                    or ast.unparse(f) in ("os.getenv", "getenv"):
                yield node.lineno, key(node.args[0])
        elif isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load) and environ(node.value):
            yield node.lineno, key(node.slice)
        elif isinstance(node, ast.Compare) and any(isinstance(op, (ast.In, ast.NotIn)) for op in node.ops) \
                and any(environ(c) for c in node.comparators):
            yield node.lineno, key(node.left)


def test_the_scan_sees_every_way_of_reading_the_environment():
    code = """
import os
from os import environ, getenv
a = os.environ.get("NNLAB_A") or 1
b = os.environ["NNLAB_B"]
c = getenv("NNLAB_C", "2")
d = "NNLAB_D" in os.environ
e = environ.get(name)
f = os.environ.get("CUDA_VISIBLE_DEVICES", "")
child = {**os.environ, "NNLAB_WORKER_THREADS": "1"}
os.environ["NNLAB_E"] = "1"
"""
    assert sorted(environment_reads(ast.parse(code)), key=lambda r: r[0]) == [
        (4, "NNLAB_A"), (5, "NNLAB_B"), (6, "NNLAB_C"), (7, "NNLAB_D"), (8, None), (9, "CUDA_VISIBLE_DEVICES")]


def test_no_module_but_nets_settings_reads_an_nnlab_variable():
    """The rule: outside nets/settings.py, code reads the environment only with a literal key (so a scan
    can tell which variable), and never an NNLAB_ one: those go through settings.get(), which holds
    the default and the check. Names of variables in messages, docstrings and comments are fine, and
    so are NNLAB_ names handed to settings.get() or written into a child process's environment."""
    found = []
    for path in CODE:
        if path == ROOT / "nets" / "settings.py":
            continue
        for line, key in environment_reads(ast.parse(path.read_text())):
            if key is None or key.startswith("NNLAB_"):
                found.append(f"{path.relative_to(ROOT)}:{line} reads {key or 'a variable named at run time'}")
    assert found == [], "read these through nets.settings.get():\n" + "\n".join(found)


def test_every_nnlab_name_the_app_mentions_is_in_the_table():
    """A misspelt or retired name in code or documentation (a message, a docstring, a default) is caught;
    NNLAB_BUDGET_* stands for the variables it starts."""
    texts = CODE + [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    unknown = set()
    for path in texts:
        for m in re.finditer(r"NNLAB_[A-Z0-9_]*[A-Z0-9](_\*)?", path.read_text()):
            name = m.group(0)
            known = any(n.startswith(name[:-1]) for n in SETTINGS) if name.endswith("*") else name in SETTINGS
            if not known:
                unknown.add(f"{path.relative_to(ROOT)}: {name}")
    assert unknown == set(), sorted(unknown)


def test_the_setup_guide_lists_every_variable_with_its_default():
    """docs/setup.md's table of settings: one row per variable of nets/settings.py, in its order."""
    text = (ROOT / "docs" / "setup.md").read_text()
    rows = re.findall(r"^\| `(NNLAB_[A-Z0-9_]+)` \|", text, re.M)
    assert rows == [s.name for s in TABLE]
    assert "nets/settings.py" in text
