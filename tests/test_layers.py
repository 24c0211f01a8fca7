"""The layers of nets/, drawn from its imports (tests/structure.py): packages without cycles, the
server package imported by nothing outside it (the Playground below it), no library module importing
a command line, the run store without charts or Streamlit, and a training job's trip from the Train
button to the saved run climbing back up a layer at most twice, measured on a real job."""
import ast

from structure import (NETS, CallRecorder, climbs, config_climbs, cycle_path, cycles, describe, external_imports,
                       graph, imported_names, layer_climbs, levels, package_graph, package_of, train_trip)

MODULES = graph()
PACKAGES = package_graph(MODULES)
PACKAGE_LEVEL = levels(PACKAGES)

# Modules outside nets/server that may import it, each with its reason: the works of the job service,
# which implement its Work interface (nets.work) from above it. Every other package (the
# Playground, the coach, the engine, the run store, the inspection code, the calculators, the
# exports, the shared modules) does not import the server.
SERVER_IMPORTED_BY: dict[str, str] = {  # the works implement nets.work below the server
    "nets.gpucheck.services": "the GPU check drives the app's own job services (JobManager, RayJobs)"}

# Library modules that may import a command line, each with its reason (none).
COMMAND_LINE_IMPORTED_BY: dict[tuple[str, str], str] = {}


def test_packages_have_no_import_cycles():
    """Every package sits on one level: no package imports one that imports it back."""
    found = cycles(PACKAGES)
    assert found == [], "package import cycles: " + "; ".join(" → ".join(cycle_path(PACKAGES, c)) for c in found)
    assert PACKAGE_LEVEL["nets.files"] == 0 and PACKAGE_LEVEL["nets.engine"] > 0


def test_nothing_outside_the_server_imports_it():
    importers = sorted((m, d) for m, deps in MODULES.items() for d in deps
                       if package_of(d) == "nets.server" and package_of(m) != "nets.server")
    unexplained = [f"{m} imports {d}" for m, d in importers if m not in SERVER_IMPORTED_BY]
    assert unexplained == [], f"nets/server holds the server only, and nothing outside it imports it: {unexplained}"
    unused = [f"{m}: {why}" for m, why in SERVER_IMPORTED_BY.items() if m not in {i for i, _ in importers}]
    assert unused == [], f"SERVER_IMPORTED_BY names modules that no longer import nets.server: {unused}"
    for m, why in SERVER_IMPORTED_BY.items():
        print(f"{m} imports nets.server: {why}")


def reaches(g: dict[str, set[str]], start: str) -> set[str]:
    """Everything `start` imports, directly or through others."""
    seen, todo = set(), [start]
    while todo:
        for d in g.get(todo.pop(), ()):
            if d not in seen:
                seen.add(d)
                todo.append(d)
    return seen


def test_the_playground_sits_below_the_server():
    """The Playground imports nothing of the server, not even through another package, and sits on
    no higher level."""
    assert "nets.server" not in reaches(PACKAGES, "nets.playground"), (
        f"the Playground reaches the server: it imports {sorted(PACKAGES['nets.playground'])}")
    assert PACKAGE_LEVEL["nets.playground"] <= PACKAGE_LEVEL["nets.server"], (
        f"the Playground (level {PACKAGE_LEVEL['nets.playground']}, imports {sorted(PACKAGES['nets.playground'])}) "
        f"is above the server (level {PACKAGE_LEVEL['nets.server']})")


def commands() -> tuple[set[str], dict[str, set[str]]]:
    """The command lines of nets/: the modules that are nothing but one (nets/**/cli.py and
    nets/**/__main__.py), and for every module the command functions it defines (a top-level `main`
    or `*_main`: what argparse, a worker process or `python -m` enters by)."""
    entries = {m for m, p in NETS.items() if p.name in ("cli.py", "__main__.py")}
    functions = {}
    for m, p in NETS.items():
        names = {n.name for n in ast.parse(p.read_text()).body if isinstance(n, ast.FunctionDef)
                 and (n.name == "main" or n.name.endswith("_main"))}
        if names:
            functions[m] = names
    return entries, functions


def test_no_library_module_imports_a_command_line():
    """A command line is a module that is nothing but one (a cli.py, a __main__.py) or the `main`
    (or `*_main`) function of a module that also serves the library (nets/server/accounts.py:
    passphrases, and `python -m nets accounts`). Only nets/__main__.py, the one command line, may
    import them (it does, by name, when a command is asked for); the library imports neither the
    first kind nor the second kind's command functions."""
    entries, functions = commands()
    assert {"nets.cli", "nets.runs.__main__", "nets.__main__"} <= entries
    assert functions["nets.cli"] == {"main"} and len(functions) > len(entries)
    found = []
    for m, p in NETS.items():
        if m == "nets.__main__":
            continue
        for d, names in imported_names(m, p).items():
            taken = {"the module"} if d in entries else names & functions.get(d, set())
            if taken and (m, d) not in COMMAND_LINE_IMPORTED_BY:
                found.append(f"{m} imports {d} ({', '.join(sorted(taken))})")
    assert found == [], f"library modules importing a command line: {found}"


def test_the_run_store_draws_no_charts():
    """nets/runs stores and reads runs: charts (Altair) and Streamlit's selections belong to the pages."""
    found = {m: sorted(external_imports(p) & {"altair", "streamlit"}) for m, p in NETS.items()
             if package_of(m) == "nets.runs"}
    assert {m: libs for m, libs in found.items() if libs} == {}


def test_the_level_rules():
    g = {"a": set(), "b": {"a"}, "c": {"a", "b"}, "d": {"e"}, "e": {"d", "c"}}
    assert levels(g) == {"a": 0, "b": 1, "c": 2, "d": 3, "e": 3}  # a cycle's members share a level
    assert cycles(g) == [["d", "e"]] and cycle_path(g, ["d", "e"]) == ["d", "e", "d"]
    assert climbs({("a", "c"), ("c", "a"), ("b", "c")}, levels(g)) == [("a", "c"), ("b", "c")]
    assert package_of("nets.server.jobs") == "nets.server" and package_of("nets.files") == "nets.files"


def test_the_recorder_sees_a_callback_climb():
    """A function of a higher package handed down to a lower one and called there is a climb."""
    import functools

    from nets.coach.outcome import loss_word
    from nets.engine.bench import timed  # nets.engine calls the function it is given
    with CallRecorder() as recorder:
        timed(functools.partial(loss_word, float("nan")))
    assert layer_climbs(recorder.edges) == [("nets.engine.bench", "nets.coach.outcome")]
    assert describe(recorder, layer_climbs(recorder.edges), PACKAGE_LEVEL, package_of) == [
        f"nets.engine.bench ({PACKAGE_LEVEL['nets.engine']}) → nets.coach.outcome ({PACKAGE_LEVEL['nets.coach']}) "
        "[callback]: timed → loss_word"]


def test_the_trip_from_the_train_button_to_the_saved_run(ckpt, monkeypatch):
    """Record every call between nets modules while the job service (thread backend) trains a tiny
    configuration and saves its run. The configuration's trip is the calls that hand it on (it, a work or
    a job holding it, or its spec); at most two of them climb back up a layer (into a package on a
    higher level than the caller's). Every call's climbs are printed too: those are reports flowing
    back up (the engine's events, a work's messages), which carry no configuration."""
    from nets.runs import get_run
    monkeypatch.setenv("NNLAB_CHECKPOINTS", str(ckpt))
    recorder, view = train_trip(ckpt)
    assert view.status == "completed" and get_run(ckpt, view.run_id).has_model
    assert any(b == "nets.engine.train" for _, b in recorder.carried)  # the recorder saw fit take the config
    assert any(a.startswith("nets.server") for a, _ in recorder.carried)  # and the job service hand it on
    trip = config_climbs(recorder)
    report = (f"{len(trip)} calls hand the configuration back up a layer (caller (package level) → callee "
              "(package level) [kind]: calls):\n" + "\n".join(describe(recorder, trip, PACKAGE_LEVEL, package_of,
                                                                           carried=True)))
    every = layer_climbs(recorder.edges)
    print(report + f"\n\nEvery call: {len(every)} climb back up a layer:\n"
          + "\n".join(describe(recorder, every, PACKAGE_LEVEL, package_of)))
    assert len(trip) <= 2, report
    reports = describe(recorder, [e for e in every if e not in trip], PACKAGE_LEVEL, package_of)
    assert all("[callback]" in line for line in reports), "a method called back up: " + "\n".join(reports)


def test_the_code_maps_layer_table_is_current():
    """docs/code-map.md draws the packages' levels; the table there is the one the imports give."""
    import re
    from pathlib import Path
    text = (Path(__file__).resolve().parent.parent / "docs" / "code-map.md").read_text()
    drawn = {f"nets.{name}": int(level) for level, names in re.findall(r"^level (\d+)  (.+)$", text, re.M)
             for name in names.split()}
    actual = {p: n for p, n in PACKAGE_LEVEL.items() if p not in ("nets", "nets.__main__")}
    assert drawn == actual, f"docs/code-map.md's layers differ from the imports': {sorted(set(actual.items()) ^ set(drawn.items()))}"
