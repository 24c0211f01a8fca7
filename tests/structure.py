"""The import structure of nets/ drawn from its imports: the graph of modules, each module's and each
package's level, import cycles, and the calls that climb back up a level on a training job's trip.

A module's level is 0 when it imports no nets module, else 1 + the highest level of what it imports
(module-level and deferred imports alike); a package's level is the same rule on the graph of packages
(a top-level module such as nets/files.py is a package of its own). `python tests/structure.py`
prints the levels, the cycles and the climbs of one tiny training job; tests/test_structure.py and
tests/test_layers.py check them.
"""
from __future__ import annotations

import ast
import os
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


NETS = {module_name(p): p for p in sorted((ROOT / "nets").rglob("*.py"))}


def _tree(path: Path) -> tuple[ast.AST, set[int]]:
    """The module's syntax tree and the ids of the nodes under `if TYPE_CHECKING:` (imports that only
    type checkers see never run and do not count)."""
    tree = ast.parse(path.read_text())
    skipped = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If)
               and "TYPE_CHECKING" in ast.unparse(node.test) for n in ast.walk(node)}
    return tree, skipped


def imported_modules(name: str, path: Path) -> set[str]:
    """The nets modules `name` imports, at module level or deferred inside functions."""
    return set(imported_names(name, path))


def imported_names(name: str, path: Path) -> dict[str, set[str]]:
    """The nets modules `name` imports (module-level or deferred), each with the names it takes from
    it ("*" for `import nets.x` or `from nets import x`: the whole module)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree, skipped = _tree(path)
    found: dict[str, set[str]] = {}
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name in NETS:
                    found.setdefault(a.name, set()).add("*")
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")[:len(package.split(".")) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            for a in node.names:  # `from nets.runs import folder` names a module, `import X` a name in one
                if f"{module}.{a.name}" in NETS:
                    found.setdefault(f"{module}.{a.name}", set()).add("*")
                else:
                    found.setdefault(module, set()).add(a.name)
    return {m: names for m, names in found.items() if m in NETS and m != name}


def external_imports(path: Path) -> set[str]:
    """The top-level names of everything outside nets/ that the file imports (deferred imports too)."""
    tree, skipped = _tree(path)
    names = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            names.add(node.module.split(".")[0])
    return names - {"nets"}


def graph() -> dict[str, set[str]]:
    """Each nets module → the nets modules it imports."""
    return {m: imported_modules(m, p) for m, p in NETS.items()}


def package_of(module: str) -> str:
    """nets.server.jobs → nets.server; a top-level module (nets.files) and nets itself are their own."""
    parts = module.split(".")
    if len(parts) <= 2:
        return module
    return ".".join(parts[:2])


def package_graph(modules: dict[str, set[str]] | None = None) -> dict[str, set[str]]:
    """Each package → the other packages its modules import."""
    modules = graph() if modules is None else modules
    packages: dict[str, set[str]] = {}
    for m, deps in modules.items():
        packages.setdefault(package_of(m), set()).update(package_of(d) for d in deps)
    return {p: deps - {p} for p, deps in packages.items()}


def cycles(g: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected parts of more than one node (each an import cycle), sorted (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(g.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            part = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                part.append(w)
                if w == v:
                    break
            if len(part) > 1 or v in g.get(v, ()):
                found.append(sorted(part))

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10_000))
    try:
        for v in sorted(g):
            if v not in index:
                visit(v)
    finally:
        sys.setrecursionlimit(limit)
    return sorted(found)


def cycle_path(g: dict[str, set[str]], part: list[str]) -> list[str]:
    """One cycle through a strongly connected part, as a path that ends where it starts."""
    start, members = part[0], set(part)
    path, seen = [start], {start}

    def walk(m: str) -> list[str] | None:
        for nxt in sorted(g[m] & members):
            if nxt == start:
                return path + [start]
            if nxt not in seen:
                seen.add(nxt)
                path.append(nxt)
                if found := walk(nxt):
                    return found
                path.pop()
        return None
    return walk(start) or part


def levels(g: dict[str, set[str]]) -> dict[str, int]:
    """0 for a node that imports nothing of g, else 1 + the highest level of what it imports. The
    members of a cycle (which should not exist) share one level, 1 + the highest below them."""
    part_of = {m: tuple(part) for part in cycles(g) for m in part}
    level: dict[str, int] = {}

    def of(m: str) -> int:
        if m not in level:
            part = part_of.get(m, (m,))
            for p in part:
                level[p] = 0  # provisional, so that the walk ends inside a cycle
            below = {d for p in part for d in g.get(p, ()) if d not in part}
            value = 1 + max(of(d) for d in below) if below else 0
            for p in part:
                level[p] = value
        return level[m]

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10_000))
    try:
        for m in sorted(g):
            of(m)
    finally:
        sys.setrecursionlimit(limit)
    return level


# ------------------------------------------------------------------------------ calls at run time
_FILES = {}
for _name, _path in NETS.items():
    _FILES[str(_path)] = _name
    _FILES[os.path.realpath(_path)] = _name


def _module_of_file(filename: str, cache: dict[str, str | None] = {}) -> str | None:  # noqa: B006 - a cache
    if filename not in cache:
        cache[filename] = _FILES.get(filename) or _FILES.get(os.path.realpath(filename)) \
            if filename.endswith(".py") else None
    return cache[filename]


def _module_of(frame) -> str | None:
    """The nets module a frame runs code of: its file's, or for code made at run time (a dataclass's
    generated __init__, file "<string>") the module whose globals it runs in."""
    filename = frame.f_code.co_filename
    if filename.startswith("<"):
        name = frame.f_globals.get("__name__")
        return name if name in NETS and not filename.startswith("<frozen") else None
    return _module_of_file(filename)


def _function(frame) -> str:
    """The function a frame runs, by its qualified name (a generated __init__ by its class's)."""
    code = frame.f_code
    if code.co_filename.startswith("<") and "self" in frame.f_locals:
        return f"{type(frame.f_locals['self']).__qualname__}.{code.co_name}"
    return code.co_qualname


def _outside_name(frame) -> str:
    """The library a frame outside nets/ belongs to, as a short name (logging, threading, torch …)."""
    name = frame.f_globals.get("__name__") or frame.f_code.co_filename
    return name.split(".")[0]


def carries_config(value, depth: int = 0) -> bool:
    """Whether `value` is the training configuration on its trip: the TrainConfig itself, an object that
    holds it (a work, a job), its plain form in a spec, or a list of those."""
    from nets.engine.config import TrainConfig
    if isinstance(value, TrainConfig):
        return True
    if depth > 1:
        return False
    if isinstance(value, dict):
        return isinstance(value.get("config"), dict) and "model" in value["config"]
    if isinstance(value, (list, tuple)):
        return any(carries_config(v, depth + 1) for v in value[:4])
    return any(carries_config(getattr(value, name, None), depth + 1) for name in ("cfg", "work", "config"))


def hands_on_config(frame) -> bool:
    """Whether a call's arguments (`self` included) carry the training configuration."""
    code = frame.f_code
    names, local = code.co_varnames[:code.co_argcount + code.co_kwonlyargcount], frame.f_locals
    return any(carries_config(local.get(n)) for n in names)


class CallRecorder:
    """Records, while active, every call from one nets module into another (in every thread that starts
    after it begins): the edge (caller module, callee module), and for a call that reached the callee
    through code outside nets/ (a callback passed through logging, threading, …) the library it went
    through. The caller is the nearest nets frame below the callee; running a module's body (an import)
    is not a call."""

    def __init__(self):
        self.edges: dict[tuple[str, str], set[str]] = {}
        self.calls: dict[tuple[str, str], set[str]] = {}  # each edge's calls: "caller.function → callee.function"
        self.carried: dict[tuple[str, str], set[str]] = {}  # the calls that hand on the training configuration
        self._lock = threading.Lock()

    def _profile(self, frame, event, arg):
        if event != "call":
            return
        callee = _module_of(frame)
        if callee is None or frame.f_code.co_name == "<module>":
            return
        via, back = "", frame.f_back
        while back is not None:
            caller = _module_of(back)
            if caller is not None:
                break
            via = _outside_name(back)  # the frame nearest the caller wins: the library it called into
            back = back.f_back
        else:
            return
        if caller != callee:
            key = (caller, callee)
            call = f"{_function(back)} → {_function(frame)}"
            calls = self.calls.get(key)
            if calls is None or call not in calls or via not in self.edges[key]:
                with self._lock:
                    self.edges.setdefault(key, set()).add(via)
                    self.calls.setdefault(key, set()).add(call)
            if call not in self.carried.get(key, ()) and hands_on_config(frame):
                with self._lock:
                    self.carried.setdefault(key, set()).add(call)

    def __enter__(self) -> CallRecorder:
        threading.setprofile(self._profile)
        sys.setprofile(self._profile)
        return self

    def __exit__(self, *exc) -> None:
        sys.setprofile(None)
        threading.setprofile(None)


def climbs(edges, level: dict[str, int], by=lambda m: m) -> list[tuple[str, str]]:
    """The edges (caller module, callee module) whose callee sits on a higher level than its caller,
    sorted; `by` maps a module to what `level` ranks (package_of: the layers, the packages)."""
    return sorted((a, b) for a, b in edges if level.get(by(b), -1) > level.get(by(a), -1))


def layer_climbs(edges) -> list[tuple[str, str]]:
    """The calls that climb back up a layer: from a module into one whose package is on a higher
    level than the caller's package (a callback passed down, called from below)."""
    return climbs(edges, levels(package_graph()), by=package_of)


def config_climbs(recorder: CallRecorder) -> list[tuple[str, str]]:
    """The configuration's own climbs: calls that hand on the training configuration (hands_on_config)
    into a package on a higher level than the caller's. Events and reports flowing back up (the engine's
    listener, a work's messages) carry no configuration and are not its trip."""
    return layer_climbs(recorder.carried)


def describe(recorder: CallRecorder, edges: list[tuple[str, str]], level: dict[str, int], by=lambda m: m,
             carried: bool = False) -> list[str]:
    """One line per edge: caller (level) → callee (level), what it went through if anything, whether
    the functions called are callbacks (functions, closures, lambdas handed down) or methods of an
    object handed down (an interface's implementation, a value's class), and the calls themselves."""
    lines = []
    for a, b in edges:
        via = sorted(v for v in recorder.edges[(a, b)] if v)
        how = f" (through {', '.join(via)})" if via else ""
        calls = sorted((recorder.carried if carried else recorder.calls)[(a, b)])
        closures = [("<locals>" in callee or "." not in callee) for callee in (c.split(" → ")[1] for c in calls)]
        kind = "callback" if all(closures) else "method" if not any(closures) else "callback and method"
        lines.append(f"{a} ({level[by(a)]}) → {b} ({level[by(b)]}) [{kind}]{how}: " + "; ".join(calls))
    return lines


def tiny_config():
    """The smallest training job on the bundled data: two epochs of a 16-unit MLP, 20 images a class."""
    from nets.engine.config import TrainConfig
    return TrainConfig(model="mlp", hidden=(16,), train_per_class=20, epochs=2, batch_size=32, log_every=2)


def train_trip(checkpoints: Path) -> tuple[CallRecorder, object]:
    """A training configuration's trip from the Train button to the saved run, recorded: the job
    service (thread backend, as in tests) takes the tiny configuration the way pages/train.py submits
    one, trains it and saves the run; the job's last view is returned with the recorder."""
    from nets.server.jobs import JobManager  # imported before recording: imports are not calls
    cfg = tiny_config()
    with CallRecorder() as recorder:
        manager = JobManager(checkpoints, max_running=1, backend="thread")
        try:
            job = manager.submit(cfg, owner="alice")
            view = manager.wait(job.id, timeout=300)
        finally:
            manager.close()
    return recorder, view


def main() -> None:
    import tempfile
    modules = graph()
    packages = package_graph(modules)
    module_level, package_level = levels(modules), levels(packages)
    print(f"{len(modules)} modules in {len(packages)} packages on {max(package_level.values()) + 1} package "
          f"levels ({max(module_level.values()) + 1} module levels)\n")
    for pkg in sorted(packages, key=lambda p: (package_level[p], p)):
        inside = sorted((m for m in modules if package_of(m) == pkg), key=lambda m: (module_level[m], m))
        above = sorted(packages[pkg], key=lambda p: (-package_level[p], p))
        print(f"{package_level[pkg]:2}  {pkg}" + (f"   imports {', '.join(above)}" if above else ""))
        if inside != [pkg]:
            for m in inside:
                print(f"      {module_level[m]:2}  {m}")
    print()
    for kind, g in (("module", modules), ("package", packages)):
        found = cycles(g)
        print(f"{len(found)} {kind} import cycles" + "".join(f"\n    {' → '.join(cycle_path(g, c))}"
                                                             for c in found))
    print()
    os.environ.setdefault("NNLAB_DATA_DIR", str(ROOT / "data-test-unused"))
    with tempfile.TemporaryDirectory() as tmp:
        ckpt = Path(tmp) / "checkpoints"
        ckpt.mkdir()
        os.environ["NNLAB_CHECKPOINTS"] = str(ckpt)
        recorder, view = train_trip(ckpt)
    trip = config_climbs(recorder)
    print(f"The configuration's trip, Train button to saved run: {len(recorder.carried)} caller → callee module "
          f"pairs hand it on; {len(trip)} climb back up a layer (package levels):")
    for line in describe(recorder, trip, package_level, package_of, carried=True):
        print("    " + line)
    climbed = layer_climbs(recorder.edges)
    print(f"\nEvery call of a tiny training job, Train button to saved run (status {view.status}): {len(recorder.edges)} "
          f"caller → callee module pairs; {len(climbed)} climb back up a layer (package levels):")
    for line in describe(recorder, climbed, package_level, package_of):
        print("    " + line)
    pairs = sorted({(package_of(a), package_of(b)) for a, b in climbed})
    print(f"{len(pairs)} pairs of packages: " + ", ".join(f"{a} → {b}" for a, b in pairs))
    inside = [e for e in climbs(recorder.edges, module_level) if e not in climbed]
    print(f"and {len(inside)} more climb a module level, not a layer (module levels):")
    for line in describe(recorder, inside, module_level):
        print("    " + line)

if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
