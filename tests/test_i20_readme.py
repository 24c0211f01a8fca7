"""Issue 20, item 11: every path, file and command that README.md and docs/*.md name exists on a fresh
checkout: links and images, paths in `code`, `python -m nets …` commands with their sub-commands,
flags and presets, `python some/script.py` scripts with their flags, `pip install -r` files."""
import contextlib
import functools
import io
import re
import shlex
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

# Paths the documents name that a checkout does not hold, each made at run time (or never committed)
MADE_AT_RUN_TIME = {
    ".streamlit/secrets.toml",       # the server's secrets: never committed (.gitignore)
    "checkpoints/index.sqlite",      # the run index, made on first use
    "checkpoints/.accounts.sqlite",  # passphrases on a classroom server
    "test-artifacts/",               # the browser tests' screenshots
    "test-artifacts/playground-mid-training.png",
    ".venv-ci",                      # .ci/run's virtual environment
    "~/.ray/auth_token",
    "data/",                         # the downloaded datasets
}
COMMAND_START = re.compile(r"^(python|pytest|pip|streamlit|ray|nice|[A-Z_]+=\S*\s)")


def texts() -> list[tuple[Path, str]]:
    return [(p, p.read_text()) for p in DOCS]


def code_spans(text: str) -> list[str]:
    """Inline `code`, and every line of indented or fenced code blocks (comments dropped)."""
    spans, fenced = re.findall(r"`([^`\n]+)`", text), False
    for line in text.splitlines():
        if line.startswith("```"):
            fenced = not fenced
            continue
        if fenced or line.startswith("    "):
            spans.append(line.split("  #")[0].strip())
    return spans


def commands(text: str) -> list[str]:
    """Each shell command, one per `&&`-joined part, leading VAR=value and `nice -n N` removed."""
    found = []
    for span in code_spans(text):
        for part in re.split(r"\s*(?:&&|;|&$)\s*", span.strip()):
            part = re.sub(r"^(?:[A-Z_]+=\S*\s+)+", "", part.strip())
            part = re.sub(r"^nice -n \d+\s+", "", part)
            if COMMAND_START.match(part):
                found.append(part)
    return found


def path_like(token: str) -> bool:
    return ("/" in token and not token.startswith(("/", "http", "~", "$")) and "<" not in token
            and "://" not in token and re.fullmatch(r"[\w.*\-/]+", token) is not None
            and not token.startswith("-"))


def inside(token: str) -> bool:
    """The path exists in this checkout: a file outside it (../shared/…) is not there on a fresh machine."""
    return (ROOT / token).resolve().is_relative_to(ROOT) and (ROOT / token).exists()


def exists(token: str) -> bool:
    token = token.rstrip(",.:")
    return token in MADE_AT_RUN_TIME or (any(ROOT.glob(token)) if "*" in token else inside(token))


@functools.cache
def help_text(*words: str) -> str:
    """What `python -m nets WORDS --help` prints, asked in this process (a fresh interpreter per
    command would import torch each time: minutes for the whole scan on two cores)."""
    from nets.__main__ import COMMANDS, __doc__ as commands_doc, main
    if words == ("worker",):  # it takes no options, and run here it would become a worker
        assert "worker" in COMMANDS
        return commands_doc
    out, argv = io.StringIO(), sys.argv
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
            code = main([*words, "--help"])
    except SystemExit as e:  # argparse's --help ends with exit(0)
        code = e.code
    finally:
        sys.argv = argv
    assert code in (0, None), f"python -m nets {' '.join(words)} --help failed ({code})"
    return out.getvalue()


def test_the_documents_are_there_and_readme_links_each():
    readme = (ROOT / "README.md").read_text()
    assert len(DOCS) >= 6
    for doc in DOCS[1:]:
        assert f"docs/{doc.name}" in readme, f"README.md does not link docs/{doc.name}"
    assert len(readme.splitlines()) < 150, "README.md is for users: the details belong in docs/"


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_link_and_image_exists(doc):
    missing = []
    for target in re.findall(r"\]\(([^)\s]+)\)", doc.read_text()):
        if target.startswith(("http://", "https://", "#", "mailto:")):
            continue
        if not (doc.parent / target.split("#")[0]).exists():
            missing.append(target)
    assert missing == [], f"{doc.name} links to missing files: {missing}"


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_path_named_in_code_exists(doc):
    text = doc.read_text()
    spans = re.findall(r"`([^`\n]+)`", text) + commands(text)  # code blocks: their commands (not the tree of nets/)
    tokens = {t for span in spans for t in re.split(r"[\s=(),]+", span) if path_like(t)}
    missing = sorted(t for t in tokens if not exists(t))
    assert missing == [], f"{doc.name} names paths that are not in the repository: {missing}"


def test_the_code_map_names_only_modules_that_exist():
    names = {p.name for p in (ROOT / "nets").rglob("*.py")}
    named = set(re.findall(r"(?m)^ +(\w+\.py) ", (ROOT / "docs" / "code-map.md").read_text()))
    assert len(named) > 50 and named - names == set()


@pytest.mark.slow  # a --help of each command (in this process: imports every command module)
def test_every_command_is_real():
    """`python -m nets X …`: X is a command, its sub-command and every --flag appear in its --help, and
    a --preset is one of its choices; `python path.py …`: the script exists and knows every --flag;
    `pip install -r F`: F exists; `pytest path` and `streamlit run path`: the path exists."""
    problems, checked = [], 0
    for doc, text in texts():
        for command in commands(text):
            words = shlex.split(command.replace("~", "HOME"))
            flags = [w.split("=")[0] for w in words if w.startswith("--")]
            checked += 1
            if words[:3] == ["python", "-m", "nets"]:
                sub = words[3:5] if len(words) > 4 and not words[4].startswith("-") and words[3] in (
                    "runs", "ray", "accounts") else words[3:4]
                head = help_text(sub[0])
                if len(sub) > 1 and sub[1] not in head:
                    problems.append(f"{doc.name}: {command}: no sub-command {sub[1]!r}")
                    continue
                usage = help_text(*sub)
                problems += [f"{doc.name}: {command}: no flag {f}" for f in flags if f not in usage]
                if "--preset" in words and words[words.index("--preset") + 1] not in usage:
                    problems.append(f"{doc.name}: {command}: no such preset")
            elif words[0] == "python":
                script = ROOT / words[1]
                if not inside(words[1]):
                    problems.append(f"{doc.name}: {command}: no {words[1]}")
                else:
                    source = script.read_text()
                    problems += [f"{doc.name}: {command}: {words[1]} has no {f}" for f in flags
                                 if f"\"{f}\"" not in source and f"'{f}'" not in source]
            elif words[:3] == ["pip", "install", "-r"]:
                problems += [f"{doc.name}: {command}: no {w}" for w in words[3:]
                             if w != "-r" and not (ROOT / w).exists()]
            elif words[0] == "pytest":
                problems += [f"{doc.name}: {command}: no {w}" for i, w in enumerate(words[1:], 1)
                             if not w.startswith("-") and words[i - 1] not in ("-m", "-k") and not exists(w)]
            elif words[:2] == ["streamlit", "run"] and not (ROOT / words[2]).exists():
                problems.append(f"{doc.name}: {command}: no {words[2]}")
    assert checked > 30  # the scan sees the commands
    assert problems == []


def test_the_scan_catches_what_the_issue_found():
    """The old README's faults, fed to the same checks, are caught."""
    old = ("    python ../shared/datasets/make.py ~/realdata\n"
           "    python -m nets trian --epochs 1\n")
    assert [c.split()[1] for c in commands(old)] == ["../shared/datasets/make.py", "-m"]
    assert not exists("../shared/datasets/make.py")  # outside the checkout, even where it exists
    assert "trian" not in help_text()
    readme = (ROOT / "README.md").read_text()
    assert "NETLAB_REQUIRE_BROWSER" not in readme  # a test switch, documented in docs/development.md only
    assert "secrets.toml` must never be committed" in readme
    assert ".streamlit/secrets.toml" in (ROOT / ".gitignore").read_text().split()
    everything = "\n".join(t for _, t in texts())
    assert "torch 2.15," not in everything and "../shared" not in everything
    assert "*The run store* below" not in everything
