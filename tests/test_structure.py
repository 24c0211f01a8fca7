import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


NETS = {module_name(p): p for p in sorted((ROOT / "nets").rglob("*.py"))}


def imported_modules(name: str, path: Path) -> set[str]:
    """The nets modules `name` imports, at module level or deferred inside functions (imports
    that only type checkers see, under `if TYPE_CHECKING:`, never run and do not count)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text())
    skipped = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If)
               and "TYPE_CHECKING" in ast.unparse(node.test) for n in ast.walk(node)}
    found = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name in NETS}
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")[:len(package.split(".")) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            for a in node.names:  # `from nets.runs import folder` names a module, `import X` a name in one
                found.add(f"{module}.{a.name}" if f"{module}.{a.name}" in NETS else module)
    return {m for m in found if m in NETS and m != name}


def test_nets_has_no_import_cycles():
    graph = {m: imported_modules(m, p) for m, p in NETS.items()}
    assert graph["nets.server.jobs"] >= {"nets.runs", "nets.engine.config"}  # the scan sees imports

    def cycle_from(start):
        path, seen = [start], set()

        def walk(m):
            for nxt in sorted(graph[m]):
                if nxt == start:
                    return path + [start]
                if nxt not in seen:
                    seen.add(nxt)
                    path.append(nxt)
                    if found := walk(nxt):
                        return found
                    path.pop()
            return None
        return walk(start)
    cycles = [c for m in graph if (c := cycle_from(m))]
    assert not cycles, "import cycle: " + " → ".join(cycles[0])


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


def test_only_one_training_loop():
    # engine/bench.py's tutorial loop is the baseline it measures; scratch/network.py is the NumPy
    # network whose hand-written backward() is the lesson; scratch/twin.py is its minimal PyTorch
    # twin, kept so the two can be compared batch for batch
    allowed = {"train.py", "bench.py", "scratch.py", "scratch_torch.py"}
    hits = [p.name for p in list((ROOT / "nets").glob("*.py")) + list(ROOT.glob("pages/*.py"))
            if (".backward(" in p.read_text() or "autograd.grad(" in p.read_text()) and p.name not in allowed]
    assert hits == [], f"a training loop outside nets/engine/train.py: {hits}"


def test_every_page_enters_through_the_app():
    """Each page listed in app.py calls ensure_app_entry() before drawing (see pages/_common.py)."""
    import re
    pages = re.findall(r'st\.Page\("(pages/[a-z_]+\.py)"', (ROOT / "app.py").read_text())
    assert len(pages) >= 6
    missing = [p for p in pages if "ensure_app_entry()" not in (ROOT / p).read_text()]
    assert missing == [], f"pages without ensure_app_entry(): {missing}"


def test_the_code_map_maps_every_module():
    """docs/code-map.md (README.md links to it) names every module of nets/, so a newcomer finds
    each one there."""
    section = (ROOT / "docs" / "code-map.md").read_text()
    assert "docs/code-map.md" in (ROOT / "README.md").read_text()
    missing = [str(p.relative_to(ROOT / "nets")) for p in (ROOT / "nets").rglob("*.py")
               if p.name != "__init__.py" and p.name not in section]
    assert missing == [], f"modules missing from docs/code-map.md, the map of nets/: {missing}"
