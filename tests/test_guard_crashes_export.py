"""Issue 19, item 9: no run name, folder or class name can break or inject code in the code and ONNX
exports, and the server never runs text built from one (model.py is made without any user text)."""
import ast
import io
import zipfile

import pytest
from exporttools import fake_run, shipped_run

import nets.export.model_source as model_source_module
from nets.engine.config import TrainConfig
from nets.export.code import code_zip
from nets.export.model_source import model_source
from nets.runs import get_run, update_run

NASTY = {
    "backslash-x": "run \\x4 NASTY",
    "backslash-N": "run \\N{oops} NASTY",
    "backslash-U": "run \\U0001 NASTY",
    "nul": "run \x00 NASTY",
    "quotes": "run \"double\" 'single' NASTY",
    "triple-quotes": 'run """ and \'\'\' NASTY',
    "newlines": "run\nimport os\r\nos.system('x') NASTY",
    "injection": '"""; import os; os.system("x") # NASTY',
    "trailing-backslash": "NASTY run \\",
    "line-separator": "run \u2028 NASTY \u0085",
}


def python_files(data: bytes) -> dict[str, str]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {n.split("/", 1)[1]: z.read(n).decode() for n in z.namelist() if n.endswith(".py")}


def shape_of(source: str) -> str:
    """The program's structure with every string constant blanked: equal for two exports only if no
    name made any statement, call or import of its own."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            node.value = ""
    return ast.dump(tree)


def string_constants(source: str) -> list[str]:
    return [n.value for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Constant) and isinstance(n.value, str)]


@pytest.fixture(scope="module")
def shipped(tmp_path_factory):
    """The shipped run, and its code export under an ordinary name."""
    run = shipped_run(tmp_path_factory.mktemp("shipped"))
    update_run(run, name="an ordinary name")
    run = get_run(run.path.parent, run.id)
    return run, python_files(code_zip(run, include_data=False).data)


@pytest.mark.parametrize("name", NASTY.values(), ids=NASTY.keys())
def test_the_code_export_of_a_nasty_name_compiles_and_holds_it_only_as_text(shipped, name):
    run, ordinary = shipped
    update_run(run, name=name)
    files = python_files(code_zip(get_run(run.path.parent, run.id), include_data=False).data)
    assert set(files) == {"model.py", "predict.py", "train.py"}
    for file, source in files.items():
        compile(source, file, "exec")  # SyntaxError (and ValueError for NUL) was the crash
        assert shape_of(source) == shape_of(ordinary[file]), file
    assert files["model.py"] == ordinary["model.py"] and "NASTY" not in files["model.py"]
    for file in ("predict.py", "train.py"):  # the name is there as one string value, on one line
        (constant,) = [c for c in string_constants(files[file]) if "NASTY" in c]
        assert "\n" not in constant and "\x00" not in constant and constant.replace(" ", "").strip()


def test_a_folder_run_with_nasty_folder_and_class_names_exports_code_that_compiles(tmp_path):
    folder, classes = NASTY["injection"], [NASTY["triple-quotes"], NASTY["backslash-N"], NASTY["nul"]]
    cfg = TrainConfig(dataset="folder", folder=folder, model="lenet", image_size=32, name=NASTY["newlines"])
    run = fake_run(tmp_path / "ck", cfg, (3, 32, 32), classes)
    files = python_files(code_zip(run, include_data=False).data)
    for file, source in files.items():
        compile(source, file, "exec")
    assert "NASTY" not in files["model.py"]
    tree = ast.parse(files["predict.py"])
    (classes_node,) = [n.value for n in tree.body if isinstance(n, ast.Assign) and n.targets[0].id == "CLASSES"]
    assert ast.literal_eval(classes_node) == classes  # the class names exactly, as data
    tree = ast.parse(files["train.py"])
    (folder_node,) = [n.value for n in tree.body if isinstance(n, ast.Assign) and n.targets[0].id == "FOLDER"]
    assert ast.literal_eval(folder_node) == folder


def test_model_source_runs_only_text_without_the_name(shipped, monkeypatch):
    run, _ = shipped
    compiled = []
    real_compile = compile

    def recording_compile(source, *args, **kwargs):
        compiled.append(source)
        return real_compile(source, *args, **kwargs)
    monkeypatch.setattr(model_source_module, "compile", recording_compile, raising=False)
    for name in NASTY.values():
        update_run(run, name=name)
        code_zip(get_run(run.path.parent, run.id), include_data=False)
    assert len(compiled) == len(NASTY) and len(set(compiled)) == 1  # one source, whatever the name
    assert "NASTY" not in compiled[0] and "NASTY" not in model_source(get_run(run.path.parent, run.id).info)


def test_the_onnx_export_of_a_nasty_name_works(tmp_path):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    from nets.export.onnx_export import onnx_file
    run = shipped_run(tmp_path)
    update_run(run, name=NASTY["backslash-N"] + NASTY["nul"])
    exported = onnx_file(get_run(run.path.parent, run.id))
    assert exported.size > 1000 and exported.file_name.endswith(".onnx")
