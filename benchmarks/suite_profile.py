"""Where the test suite's time goes: wall and CPU seconds per test module, per worker, in one run.

Usage: .venv/bin/python -m benchmarks.suite_profile [--top N] [pytest arguments ...]

Runs the suite as scripts/test.sh does (`pytest -n auto --no-loadscope-reorder`), with this module as
a pytest plugin in every worker: around each test it reads the worker's own CPU time and that of the
children it has waited for (CLI subprocesses, checkov). Prints, per worker, the modules by wall
time, then the run's totals: wall, all CPU (the process tree, jsii's Node processes included), and
the floor that CPU sets on this machine's cores (CPU / cores: no schedule of these tests can finish
sooner). A figure to read beside a change, never a pass or fail.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import pytest

RECORD_DIR = "SUITE_PROFILE_DIR"


def _cpu() -> tuple[float, float]:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime


_records: list[tuple[str, float, float, float]] = []


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None):
    (own, children), started = _cpu(), time.monotonic()
    yield
    after_own, after_children = _cpu()
    _records.append((item.nodeid.split("::")[0], time.monotonic() - started, after_own - own, after_children - children))


def pytest_sessionfinish(session: pytest.Session) -> None:
    directory = os.environ.get(RECORD_DIR)
    if directory:
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        Path(directory, f"{worker}.json").write_text(json.dumps(_records))


def main(argv: list[str]) -> int:
    top = 12
    if argv[:1] == ["--top"]:
        top, argv = int(argv[1]), argv[2:]
    with tempfile.TemporaryDirectory() as directory:
        env = {**os.environ, RECORD_DIR: directory, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # as scripts/test.sh
        command = [sys.executable, "-m", "pytest", "-n", "auto", "--no-loadscope-reorder", "-q", "-p", "benchmarks.suite_profile", *argv]
        started = time.monotonic()
        result = subprocess.run(command, env=env, capture_output=True, text=True)
        wall = time.monotonic() - started
        cpu = sum(_cpu()[1:])
        workers = {path.stem: json.loads(path.read_text()) for path in sorted(Path(directory).glob("gw*.json"))}
    print(result.stdout.strip().splitlines()[-1] if result.stdout.strip() else result.stderr[-2000:])
    for worker, records in workers.items():
        modules: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
        for module, seconds, own, children in records:
            totals = modules[module]
            totals[0], totals[1], totals[2] = totals[0] + seconds, totals[1] + own, totals[2] + children
        in_tests = [sum(values[i] for values in modules.values()) for i in range(3)]
        print(f"\n{worker}: tests' wall {in_tests[0]:.1f} s, CPU {in_tests[1]:.1f} s own + {in_tests[2]:.1f} s in subprocesses")
        print(f"  {'module':44} {'wall':>7} {'own CPU':>8} {'subproc':>8}")
        for module, (seconds, own, children) in sorted(modules.items(), key=lambda item: -item[1][0])[:top]:
            print(f"  {module:44} {seconds:7.1f} {own:8.1f} {children:8.1f}")
    cores = len(os.sched_getaffinity(0))
    print(
        f"\nrun: wall {wall:.1f} s; CPU {cpu:.1f} s in all (workers, subprocesses, jsii's Node); floor on {cores} cores: {cpu / cores:.1f} s"
    )
    return result.returncode


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
