"""The rules of nets/ as a whole: no import cycles, no Streamlit, one training loop (and the others,
each with its reason), every page entering through the app, every module on the map of the code.
The import scanner is tests/structure.py's, shared with tests/test_layers.py."""
import ast
import re
import subprocess
import sys
from pathlib import Path

from structure import NETS, ROOT, cycle_path, cycles, imported_modules


def test_nets_has_no_import_cycles():
    graph = {m: imported_modules(m, p) for m, p in NETS.items()}  # deferred imports included
    assert graph["nets.server.jobs"] >= {"nets.runs"}  # the scan sees imports (test_the_scan_sees_every_import)
    found = cycles(graph)
    assert not found, "import cycle: " + " → ".join(cycle_path(graph, found[0]))


def test_the_scan_sees_every_import(tmp_path):
    """Module-level, deferred and relative imports count, a module named by `from package import module`
    is that module, and what only type checkers see does not count."""
    probe = tmp_path / "probe.py"
    probe.write_text("from __future__ import annotations\nfrom typing import TYPE_CHECKING\nimport nets.files\n"
                     "from nets.runs import folder\nfrom nets.engine.config import TrainConfig\nfrom . import jobs\n"
                     "if TYPE_CHECKING:\n    from nets.coach import doctor\n"
                     "def f():\n    from ..text import one_line\n")
    assert imported_modules("nets.server.probe", probe) == {
        "nets.files", "nets.runs.folder", "nets.engine.config", "nets.server.jobs", "nets.text"}


def test_nets_never_imports_streamlit():
    for name, path in NETS.items():
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            assert not any(n.split(".")[0] == "streamlit" for n in names), f"{name} imports streamlit"
    modules = [m for m in NETS if not m.endswith("__main__")]
    code = ("import sys, importlib\n"
            f"for m in {modules!r}: importlib.import_module(m)\n"
            "print('streamlit' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


# Every file with a backward pass, by its path in the repository, and why it may have one.
TRAINING_LOOPS = {
    "nets/engine/train.py": "the engine: the one training loop of the app's jobs and the command line",
    "nets/engine/bench.py": "the tutorial DataLoader loop that the engine is measured against",
    "nets/scratch/network.py": "the NumPy network whose hand-written backward() is the lesson",
    "nets/scratch/twin.py": "its minimal PyTorch twin, kept so the two can be compared batch for batch",
    "nets/playground/train.py": "the Playground's small full-batch loop, on purpose: a few steps at a "
                                "time under the gate, for one student's 2-D lab",
    "nets/export/templates/train.py.in": "the train.py of an exported project, which must train "
                                         "without this app",
}


def backward_passes(root: Path) -> list[str]:
    """The files under root's nets/ and pages/ (every depth, Python sources and their templates) and
    its app.py that call .backward( or autograd.grad(, as paths relative to root."""
    files = [p for d in ("nets", "pages") for p in (root / d).rglob("*")
             if p.is_file() and (p.suffix == ".py" or p.name.endswith(".py.in"))] + [root / "app.py"]
    return sorted(str(p.relative_to(root)) for p in files if p.exists()
                  and re.search(r"\.backward\(|autograd\.grad\(", p.read_text()))


def test_only_one_training_loop():
    hits = backward_passes(ROOT)
    others = [p for p in hits if p not in TRAINING_LOOPS]
    assert others == [], f"a training loop outside nets/engine/train.py: {others} (add it to " \
                         "TRAINING_LOOPS with its reason only if it must be its own)"
    stale = [p for p in TRAINING_LOOPS if p not in hits]
    assert stale == [], f"TRAINING_LOOPS allows files that have no backward pass (any more): {stale}"


def test_the_loop_scan_sees_every_depth(tmp_path):
    """The scan above finds a backward pass in a subpackage and names it by its path (a file named
    like an allowed one elsewhere is not allowed)."""
    for path, text in {"nets/inspect/probe.py": "loss.backward()\n", "nets/inspect/deep/train.py":
                       "torch.autograd.grad(y, x)\n", "nets/engine/train.py": "loss.backward()\n",
                       "nets/inspect/clean.py": "x = 1\n", "pages/p.py": "y.backward(g)\n",
                       "app.py": "import nets\n"}.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text)
    hits = backward_passes(tmp_path)
    assert hits == ["nets/engine/train.py", "nets/inspect/deep/train.py", "nets/inspect/probe.py", "pages/p.py"]
    assert [p for p in hits if p not in TRAINING_LOOPS] == hits[1:]


def test_every_page_enters_through_the_app():
    """Each page listed in app.py calls ensure_app_entry() at its top level (see pages/_common.py)
    before it draws anything: no Streamlit call runs ahead of it."""
    pages = re.findall(r'st\.Page\("(pages/[a-z_]+\.py)"', (ROOT / "app.py").read_text())
    assert len(pages) >= 6
    missing, drawn_first = [], []
    for page in pages:
        body = ast.parse((ROOT / page).read_text()).body
        calls = [i for i, n in enumerate(body) if isinstance(n, ast.Expr) and isinstance(n.value, ast.Call)
                 and ast.unparse(n.value.func) == "ensure_app_entry"]
        if not calls:
            missing.append(page)
            continue
        drawn_first += [f"{page}: {ast.unparse(c)}" for n in body[:calls[0]] for c in ast.walk(n)
                        if isinstance(c, ast.Call) and ast.unparse(c.func).startswith("st.")
                        and not isinstance(n, (ast.FunctionDef, ast.ClassDef))]
    assert missing == [], f"pages without ensure_app_entry(): {missing}"
    assert drawn_first == [], f"pages that draw before ensure_app_entry(): {drawn_first}"


def code_map(text: str) -> tuple[set[str], set[str]]:
    """The modules docs/code-map.md's map shows, as paths relative to nets/: each line's own file under
    its package heading ("  engine/" then "    train.py" is engine/train.py), and the files a line names
    in parentheses beside it ("(forward_quiz.py: …)": the same package)."""
    block = text.split("```")[1].splitlines()
    lines, mentioned, package = set(), set(), ""
    for line in block:
        m = re.match(r"( *)(\S+)(.*)", line)
        if not m or m.group(2) == "nets/":
            continue
        depth, name, rest = len(m.group(1)) // 2, m.group(2), m.group(3)
        if depth == 1 and name.endswith("/"):
            package = name
            continue
        prefix = package if depth == 2 else ""
        lines.add(prefix + name)
        for inside in re.findall(r"\(([^)]*)\)", rest):
            mentioned |= {prefix + n for n in re.findall(r"\b(\w+\.py)\b", inside)}
    return lines, mentioned


def test_the_code_map_maps_every_module():
    """docs/code-map.md (README.md links to it) names every module of nets/, so a newcomer finds
    each one there: by its path, under its package's heading."""
    section = (ROOT / "docs" / "code-map.md").read_text()
    assert "docs/code-map.md" in (ROOT / "README.md").read_text()
    lines, mentioned = code_map(section)
    modules = {str(p.relative_to(ROOT / "nets")) for p in (ROOT / "nets").rglob("*.py") if p.name != "__init__.py"}
    missing = sorted(modules - lines - mentioned)
    assert missing == [], f"modules missing from docs/code-map.md, the map of nets/: {missing}"
    gone = sorted(lines - modules - {p.rstrip("/") for p in lines if p.endswith("/")})
    assert gone == [], f"docs/code-map.md maps modules that are not in nets/ (any more): {gone}"


def test_the_code_map_is_read_by_path():
    """Two modules named train.py: the map must show each under its own package."""
    text = "```\nnets/\n  cli.py  x\n  engine/  e\n    train.py  the loop (bench.py: baseline)\n" \
           "  playground/  p\n    data.py  y\n```\n"
    lines, mentioned = code_map(text)
    assert lines == {"cli.py", "engine/train.py", "playground/data.py"}
    assert mentioned == {"engine/bench.py"}
    assert "playground/train.py" not in lines | mentioned
