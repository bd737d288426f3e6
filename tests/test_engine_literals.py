"""No engine name as a literal outside the engine module (issue #13: engines and deployments are
data): a string constant of the scanned code that holds `tgi`, `lmi`, `vllm` or `sglang` as a whole
lowercase word fails, naming its file and line. Docstrings and comments may name engines."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from tests.conftest import ROOT

# --- what is scanned -----------------------------------------------------------------------------
# Folders (from the repository root) whose Python files are scanned, recursively.
SCANNED_ROOTS: tuple[str, ...] = (
    "client/streaming_client",
    "tools",
    "blueprint",
    "stacks",
)  # not benchmarks/: like tests, they replay recorded streams of named engines
# Files (from the repository root) that may name engines: the engine modules and test data.
ALLOWED_FILES: set[str] = {
    "client/streaming_client/engines.py",  # the client's engine module
    "tools/loopback/samples.py",  # what each engine streams and its image: the loopback's test data
    "blueprint/engines/tgi.py",  # the app's engine modules
    "blueprint/engines/lmi.py",
    "blueprint/engines/vllm.py",
    "blueprint/engines/sglang.py",
    "blueprint/config/profiles.py",  # profiles name their deployments and engines
}
# -------------------------------------------------------------------------------------------------

ENGINE_NAMES = ("tgi", "lmi", "vllm", "sglang")
ENGINE_WORD = re.compile(r"(?<![A-Za-z0-9_])(" + "|".join(ENGINE_NAMES) + r")(?![A-Za-z0-9_])")


def docstring_nodes(tree: ast.AST) -> set[int]:
    """The ids of the Constant nodes that are docstrings (of the module, a class or a function)."""
    found: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
                found.add(id(first.value))
    return found


def engine_literals(source: str, filename: str = "<source>") -> list[tuple[int, str]]:
    """(line, text) of each string constant of `source`, not a docstring, naming an engine."""
    tree = ast.parse(source, filename)
    docstrings = docstring_nodes(tree)
    return sorted(
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings and ENGINE_WORD.search(node.value)
    )


def scanned_files() -> list[Path]:
    return sorted(path for root in SCANNED_ROOTS for path in (ROOT / root).rglob("*.py"))


def test_no_engine_name_is_a_literal_outside_the_engine_modules():
    files = scanned_files()
    assert any(path.name == "smoke_test.py" for path in files)  # the roots point at the code
    found = [
        f"{path.relative_to(ROOT)}:{line}: {text!r}"
        for path in files
        if path.relative_to(ROOT).as_posix() not in ALLOWED_FILES
        for line, text in engine_literals(path.read_text(encoding="utf-8"), str(path))
    ]
    assert not found, "engine names as literals (read them from the engine records instead):\n" + "\n".join(found)


def test_the_allowed_files_exist():
    # An allowed file that moved would silently stop being allowed and start hiding nothing.
    assert all((ROOT / name).is_file() for name in ALLOWED_FILES)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ('x = "tgi"\n', [(1, "tgi")]),
        ('x = f"demo-{n}"\ny = "demo-vllm"\n', [(2, "demo-vllm")]),  # a hyphen bounds a word
        ('x = f"--variant lmi {n}"\n', [(1, "--variant lmi ")]),  # f-strings' literal parts
        ('d = {"sglang": 1}\n', [(1, "sglang")]),
        ('"""Module: tgi and lmi."""\ndef f():\n    """Also vllm."""\n    return "sglang x"\n', [(4, "sglang x")]),
        ('x = "TGI, vLLM and SGLang"\n', []),  # prose names, not lowercase words
        ('x = "tgi1.0.3 and tgi_image and multilmi"\n', []),  # not whole words
        ("x = 1  # tgi in a comment\n", []),
    ],
)
def test_the_scan_finds_engine_words_in_string_constants_only(source, expected):
    assert engine_literals(source) == expected
