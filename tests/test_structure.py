import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_nets_never_imports_streamlit():
    for path in (ROOT / "nets").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            assert not any(n.split(".")[0] == "streamlit" for n in names), f"{path.name} imports streamlit"
    modules = [p.stem for p in (ROOT / "nets").glob("*.py") if p.stem != "__init__"]
    code = ("import sys, importlib\n"
            f"for m in {modules!r}: importlib.import_module('nets.' + m)\n"
            "print('streamlit' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_only_one_training_loop():
    # bench.py's tutorial loop is the baseline it measures; scratch.py is the NumPy network whose
    # hand-written backward() is the lesson; scratch_torch.py is its minimal PyTorch twin, kept so
    # the two can be compared batch for batch
    allowed = {"train.py", "bench.py", "scratch.py", "scratch_torch.py"}
    hits = [p.name for p in list((ROOT / "nets").glob("*.py")) + list(ROOT.glob("pages/*.py"))
            if (".backward(" in p.read_text() or "autograd.grad(" in p.read_text()) and p.name not in allowed]
    assert hits == [], f"a training loop outside nets/train.py: {hits}"


def test_every_page_enters_through_the_app():
    """Each page listed in app.py calls ensure_app_entry() before drawing (see pages/_common.py)."""
    import re
    pages = re.findall(r'st\.Page\("(pages/[a-z_]+\.py)"', (ROOT / "app.py").read_text())
    assert len(pages) >= 6
    missing = [p for p in pages if "ensure_app_entry()" not in (ROOT / p).read_text()]
    assert missing == [], f"pages without ensure_app_entry(): {missing}"
