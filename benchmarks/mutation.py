"""Mutation testing of the project's logic with mutmut 3: the kill rate per module.

Usage: nice -n 19 .venv/bin/python -m benchmarks.mutation [MODULE ...] [--report-only] [--max-children N]

MODULE is a file of `[tool.mutmut] only_mutate` (pyproject.toml), by path, dotted name or stem
(`stream_decoder`, `blueprint.validation`, `tools/llm_bench/stats.py`); none: all of them.

mutmut names a mutant after the path of its file, and the tests import the client's package as
`streaming_client` (pytest's pythonpath has client/), not `client.streaming_client`. So the run
happens in build/mutation/: each source path is linked in under its last component (the name the
tests import it by), with the tests, the `also_copy` files and a pyproject.toml carrying the same
`[tool.mutmut]` table (paths translated) and the pytest settings (pythonpath `.`). mutmut copies
that into build/mutation/mutants/, puts the mutants there and runs the selected tests against it.

The table: mutants, killed (a failing test, or a timeout: a mutant that hangs is caught too),
survived, not covered (no selected test reaches the function), excluded and the kill rate,
killed / (mutants - excluded). Excluded are:

- accepted equivalent mutants, listed by name with their reason in
  benchmarks/mutation_equivalents.toml; an entry also quotes (part of) the mutated line, as
  `ast.unparse` spells it, and is not applied but reported as stale when the mutant of that name
  changes another line (mutmut numbers mutants in source order: an edit above renumbers them), or
  when a test kills it;
- message wording: a mutant whose only change is to string literals (mutmut's "XX..XX" and case
  mutations, text for text) that are all wording of a message: the message argument of an
  exception (a call of a name ending in Error, Failed or Exception) or the `allowed` text (third
  argument) of a validation `Problem`, reached from the literal only through text building
  (f-strings, `+`, a conditional's branches, a `.join` separator). Setting names (a Problem's
  path), values, keys looked up inside a message, conditions and anything a caller reads stay
  counted, and so does a message replaced by None. Tests pin messages by the setting name and
  value they contain; the wording around those is free to change.

Run time on 2 cores: see docs/testing.md.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORKSPACE = ROOT / "build" / "mutation"
EQUIVALENTS = Path(__file__).resolve().parent / "mutation_equivalents.toml"
# The console script, not `python -m mutmut`: mutmut's workers import mutmut.__main__ again otherwise.
MUTMUT = Path(sys.executable).with_name("mutmut")

KILLED = {1, 3}  # a test failed (3: pytest's internal error, as mutmut counts it)
TIMEOUT = {36, -24, 24, 152, 255}
SURVIVED = {0}
NOT_COVERED = {5, 33}
MESSAGE_CALL_SUFFIXES = ("Error", "Failed", "Exception")


@dataclass
class Row:
    module: str
    mutants: int = 0
    killed: int = 0
    timeouts: int = 0
    survived: int = 0
    not_covered: int = 0
    other: int = 0
    equivalent: int = 0
    wording: int = 0
    survivors: list[str] = field(default_factory=list)

    @property
    def counted(self) -> int:
        return self.mutants - self.equivalent - self.wording

    @property
    def rate(self) -> float | None:
        return (self.killed + self.timeouts) / self.counted if self.counted else None


def project_config() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def workspace_path(path: str, source_paths: list[str]) -> str:
    """`path` as laid out in the workspace: below its source path's last component."""
    for source in sorted(source_paths, key=len, reverse=True):
        if path == source or path.startswith(source.rstrip("/") + "/"):
            return Path(source).name + path[len(source.rstrip("/")) :]
    return path


def module_of(ws_path: str) -> str:
    return ws_path.removesuffix(".py").replace("/", ".").removesuffix(".__init__")


def pick_modules(targets: list[str], wanted: list[str]) -> list[str]:
    if not wanted:
        return targets
    chosen = []
    for want in wanted:
        norm = want.removesuffix(".py").replace(".", "/")
        hits = [t for t in targets if t.removesuffix(".py").endswith(norm)]
        if len(hits) != 1:
            raise SystemExit(f"{want!r} names {len(hits)} of the modules in [tool.mutmut] only_mutate: {', '.join(targets)}")
        chosen += hits
    return chosen


def _toml_value(value: object) -> str:
    # Strings, numbers, booleans and lists of them: their JSON spelling is valid TOML.
    return json.dumps(value)


def prepare_workspace(config: dict, modules: list[str]) -> None:
    """build/mutation/ afresh: links to the sources, tests and data files, and its pyproject.toml."""
    mutmut = dict(config["tool"]["mutmut"])
    source_paths: list[str] = mutmut["source_paths"]
    if WORKSPACE.exists():
        shutil.rmtree(WORKSPACE)
    WORKSPACE.mkdir(parents=True)
    links = {Path(s).name: s for s in source_paths}
    for extra in [*mutmut.get("also_copy", []), "tests"]:
        links[extra] = extra
    for name, target in links.items():
        (WORKSPACE / name).symlink_to(ROOT / target, target_is_directory=(ROOT / target).is_dir())

    mutmut["source_paths"] = [Path(s).name for s in source_paths]
    mutmut["only_mutate"] = [workspace_path(m, source_paths) for m in modules]
    pytest_options = dict(config["tool"]["pytest"]["ini_options"])
    pytest_options["pythonpath"] = ["."]
    lines = ["# Generated by benchmarks/mutation.py from the project's pyproject.toml.", "[tool.mutmut]"]
    lines += [f"{key} = {_toml_value(value)}" for key, value in mutmut.items()]
    lines += ["", "[tool.pytest.ini_options]"]
    lines += [f"{key} = {_toml_value(value)}" for key, value in pytest_options.items()]
    (WORKSPACE / "pyproject.toml").write_text("\n".join(lines) + "\n")


def run_mutmut(max_children: int) -> float:
    log = WORKSPACE / "mutmut.log"
    print(f"running mutmut in {WORKSPACE.relative_to(ROOT)} (output: {log.relative_to(ROOT)}) ...", flush=True)
    start = time.perf_counter()
    with log.open("w") as out:
        done = subprocess.run(
            [str(MUTMUT), "run", "--max-children", str(max_children)],
            cwd=WORKSPACE,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # no terminal: its workers never stop on terminal access
            env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
            check=False,
        )
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        tail = log.read_text().splitlines()[-30:]
        raise SystemExit("mutmut failed:\n" + "\n".join(tail))
    return elapsed


# --- reading the results -------------------------------------------------------------------------


class _Functions:
    """Generated functions of a mutants file, parsed one at a time through mutmut's line index.

    The mutants file holds every mutant of every function: parsing it whole takes long, parsing
    the two functions a mutant is compared with does not.
    """

    def __init__(self, mutants_file: Path) -> None:
        self._lines = mutants_file.read_text().splitlines(keepends=True)
        spans_file = mutants_file.with_name(mutants_file.name + ".spans")
        self._spans = json.loads(spans_file.read_text())["spans"] if spans_file.exists() else {}
        self._cache: dict[str, ast.FunctionDef | ast.AsyncFunctionDef | None] = {}

    def get(self, name: str) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
        if name not in self._cache:
            span = self._spans.get(name)
            node = None
            if span is not None:
                source = textwrap.dedent("".join(self._lines[span[0] - 1 : span[1]]))
                parsed = ast.parse(source).body
                node = next((n for n in parsed if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)), None)
            self._cache[name] = node
        return self._cache[name]


_PARENTS: dict[int, tuple[ast.AST, dict[ast.AST, ast.AST]]] = {}


def _parents_of(tree: ast.AST) -> dict[ast.AST, ast.AST]:
    """Each node's parent (kept per tree: every mutant of a function is compared with the same one)."""
    cached = _PARENTS.get(id(tree))
    if cached is None or cached[0] is not tree:
        cached = (tree, {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)})
        _PARENTS[id(tree)] = cached
    return cached[1]


def _call_name(call: ast.Call) -> str:
    func = call.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""


def _in_message(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    """Is the literal `node` wording of an exception's message or of a Problem's `allowed` text?

    From the literal up to the message argument, only text may be built: f-strings, `+`, the
    branches of a conditional and the separator of a `.join`. A literal that is a key looked up,
    an argument of another call or a condition is not wording, even inside a message. Text that
    reaches its message through a name is declared in the equivalents file's [wording] table: an
    argument position of a helper that puts it in a message, or dicts of message texts by name.
    """
    child, parent = node, parents.get(node)
    while parent is not None:
        if isinstance(parent, ast.Call):
            if child is parent.func:  # "sep".join(...): the call builds text
                child, parent = parent, parents.get(parent)
                continue
            name = _call_name(parent)
            arg = child.value if isinstance(child, ast.keyword) else child
            if name == "Problem":
                return (len(parent.args) > 2 and arg is parent.args[2]) or (isinstance(child, ast.keyword) and child.arg == "allowed")
            position = WORDING.get("arguments", {}).get(name)
            if position is not None:
                return position < len(parent.args) and arg is parent.args[position]
            return name.endswith(MESSAGE_CALL_SUFFIXES)
        if isinstance(parent, ast.Dict):
            # The text values of a dict of messages (`managed`, `why`), never its keys.
            target = parents.get(parent)
            names = WORDING.get("dict_values", [])
            return (
                any(child is v for v in parent.values)
                and isinstance(target, ast.Assign)
                and any(isinstance(t, ast.Name) and t.id in names for t in target.targets)
            )
        if isinstance(parent, ast.Attribute):
            if parent.attr != "join":
                return False
        elif isinstance(parent, ast.IfExp):
            if child is parent.test:
                return False
        elif not isinstance(parent, ast.JoinedStr | ast.FormattedValue | ast.BinOp | ast.keyword):
            return False
        child, parent = parent, parents.get(parent)
    return False


def only_message_wording(original: ast.AST, mutant: ast.AST) -> bool:
    """True when the two functions differ only in string literals that are parts of messages."""
    a_nodes, b_nodes = list(ast.walk(original)), list(ast.walk(mutant))
    if len(a_nodes) != len(b_nodes):
        return False
    parents = _parents_of(original)
    changed = False
    for a, b in zip(a_nodes, b_nodes, strict=True):
        if type(a) is not type(b):
            return False
        if isinstance(a, ast.FunctionDef | ast.AsyncFunctionDef):
            continue  # the generated names differ
        for name, value in ast.iter_fields(a):
            other = getattr(b, name)
            if isinstance(value, ast.AST) or (isinstance(value, list) and value and isinstance(value[0], ast.AST)):
                continue  # compared as nodes of the walk
            if isinstance(value, list) and len(value) != len(other):
                return False
            if value != other and name not in {"ctx", "type_comment", "kind"}:
                # Text for text: a message replaced by None (or a number) is not a rewording.
                if not (isinstance(a, ast.Constant) and isinstance(a.value, str) and isinstance(other, str) and _in_message(a, parents)):
                    return False
                changed = True
    return changed


def _changed_line(original: ast.AST, mutant: ast.AST) -> str:
    """The first line of the mutant's source that differs from the original's."""
    a_lines = ast.unparse(original).splitlines()[1:]
    b_lines = ast.unparse(mutant).splitlines()[1:]
    for a, b in zip(a_lines, b_lines, strict=False):
        if a != b:
            return b.strip()
    return b_lines[len(a_lines)].strip() if len(b_lines) > len(a_lines) else ""


WORDING: dict = {}


def load_equivalents() -> dict[str, dict]:
    """The accepted equivalents by mutant name; also loads the [wording] table into WORDING."""
    if not EQUIVALENTS.exists():
        return {}
    data = tomllib.loads(EQUIVALENTS.read_text())
    WORDING.clear()
    WORDING.update(data.get("wording", {}))
    return data.get("mutant", {})


def mutant_status(code: int | None) -> str:
    if code in KILLED:
        return "killed"
    if code in TIMEOUT:
        return "timeout"
    if code in SURVIVED:
        return "survived"
    if code in NOT_COVERED:
        return "not covered"
    return "other"


def read_results(ws_path: str, equivalents: dict[str, dict], stale: list[str]) -> Row:
    mutants_file = WORKSPACE / "mutants" / ws_path
    meta = json.loads((WORKSPACE / "mutants" / f"{ws_path}.meta").read_text())
    functions = _Functions(mutants_file)
    row = Row(module_of(ws_path))
    for name, code in sorted(meta["exit_code_by_key"].items()):
        local = name.rpartition(".")[2]
        mutant_fn = functions.get(local)
        original_fn = functions.get(local.partition("__mutmut_")[0] + "__mutmut_orig")
        status = mutant_status(code)
        row.mutants += 1
        entry = equivalents.get(name)
        if entry is not None and mutant_fn is not None and original_fn is not None:
            if entry.get("line") and entry["line"] not in _changed_line(original_fn, mutant_fn):
                stale.append(f"{name}: listed for {entry['line']!r}, now changes {_changed_line(original_fn, mutant_fn)!r}")
            elif status in {"killed", "timeout"}:
                stale.append(f"{name}: listed as equivalent but killed")
            else:
                row.equivalent += 1
                continue
        if mutant_fn is not None and original_fn is not None and only_message_wording(original_fn, mutant_fn):
            row.wording += 1
            continue
        if status == "killed":
            row.killed += 1
        elif status == "timeout":
            row.timeouts += 1
        elif status == "survived":
            row.survived += 1
            row.survivors.append(name)
        elif status == "not covered":
            row.not_covered += 1
            row.survivors.append(name)
        else:
            row.other += 1
            row.survivors.append(name)
    return row


def print_table(rows: list[Row]) -> None:
    header = ("module", "mutants", "killed", "survived", "not covered", "excluded", "kill rate")
    body = []
    for r in rows:
        rate = "n/a" if r.rate is None else f"{r.rate:.1%}"
        excluded = f"{r.equivalent + r.wording} ({r.equivalent} eq, {r.wording} msg)"
        killed = f"{r.killed + r.timeouts}" + (f" ({r.timeouts} t/o)" if r.timeouts else "")
        survived = f"{r.survived}" + (f" (+{r.other} other)" if r.other else "")
        body.append((r.module, str(r.mutants), killed, survived, str(r.not_covered), excluded, rate))
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]
    for i, line in enumerate([header, *body]):
        print("  ".join(cell.ljust(w) if j == 0 else cell.rjust(w) for j, (cell, w) in enumerate(zip(line, widths, strict=True))))
        if i == 0:
            print("  ".join("-" * w for w in widths))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", help="modules of [tool.mutmut] only_mutate (default: all)")
    parser.add_argument("--report-only", action="store_true", help="read the results of the last run in build/mutation/")
    parser.add_argument("--max-children", type=int, default=os.cpu_count() or 2, help="parallel mutant runs (default: CPU count)")
    parser.add_argument("--survivors", action="store_true", help="list the mutants that survived or no test reaches")
    args = parser.parse_args()

    config = project_config()
    mutmut = config["tool"]["mutmut"]
    modules = pick_modules(mutmut["only_mutate"], args.modules)
    if not args.report_only:
        prepare_workspace(config, modules)
        elapsed = run_mutmut(args.max_children)
        print(f"mutmut ran {elapsed:.0f} s")
    equivalents = load_equivalents()
    stale: list[str] = []
    rows = []
    for module in modules:
        ws_path = workspace_path(module, mutmut["source_paths"])
        if not (WORKSPACE / "mutants" / f"{ws_path}.meta").exists():
            print(f"{module}: no results in build/mutation/ (run without --report-only)")
            continue
        rows.append(read_results(ws_path, equivalents, stale))
    print_table(rows)
    for line in stale:
        print(f"stale equivalent: {line}")
    if args.survivors:
        for r in rows:
            for name in r.survivors:
                print(f"  {name}")
        print("show one with: (cd build/mutation && ../../.venv/bin/mutmut show NAME)")


if __name__ == "__main__":
    main()
