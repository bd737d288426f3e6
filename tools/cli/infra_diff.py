"""Markdown review report of the infrastructure a change makes, against a base git revision.

    llm-infra-diff origin/main [--output report.md] [-c key=value ...]

Synthesizes the base revision (in a temporary git worktree) and the working tree side by side, with
the same context, and reports: a summary (stacks changed, resources replaced, how each endpoint is
updated, the price per hour and month before and after), then per stack the security-relevant
changes in words, resources added, removed and changed (by construct path) with every changed value
as before -> after (secrets masked), which changes replace resources and what that means here, IAM
statements added or removed as tables, and cdk-nag acknowledgments added or removed. Needs no AWS
access. Progress and the file written go to standard error.
Exit codes: 0 report written, 1 a synth failed (its error in the report), 2 usage, 3 report
written but AWS would reject the change as it stands (e.g. a new instance type for an autoscaled
variant: the report says how to deploy it in two steps).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from blueprint.loader import CDK_CLI_CONTEXT, project_context
from blueprint.review.review_report import Assembly, rejected, render


def checkout() -> Path:
    """The git checkout the command runs in (its working tree is the change under review)."""
    result = subprocess.run(["git", "rev-parse", "--show-toplevel"], capture_output=True, text=True)
    return Path(result.stdout.strip()) if result.returncode == 0 else Path.cwd()


class SynthFailed(Exception):
    pass


def synthesize(tree: Path, outdir: Path, overrides: dict[str, str]) -> Assembly:
    """Run the tree's app.py as `cdk synth --no-validation` would, offline, into `outdir`.

    Without CloudFormation's built-in template validation (its engine takes ~3 s to start, more
    than the app itself): the report compares templates, and the change's own `cdk synth` and test
    suite validate them. cdk-nag runs, so a new finding still fails a side's synth.
    """
    context = {**project_context(tree), **CDK_CLI_CONTEXT, **overrides}
    env = {
        **os.environ,
        "CDK_OUTDIR": str(outdir),
        "CDK_CONTEXT_JSON": json.dumps(context),
        "CDK_VALIDATION": "false",  # what the CLI's --no-validation passes to the app
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    }
    result = subprocess.run([sys.executable, "app.py"], cwd=tree, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        tail = "\n".join(line for line in result.stderr.splitlines() if not line.startswith("b'"))[-3000:]
        raise SynthFailed(f"synth of {tree} failed:\n{tail}")
    return Assembly.read(outdir)


def base_assembly(root: Path, base_ref: str, workdir: Path, overrides: dict[str, str]) -> Assembly:
    tree = workdir / "base"
    subprocess.run(["git", "worktree", "add", "--detach", str(tree), base_ref], cwd=root, check=True, capture_output=True, text=True)
    try:
        return synthesize(tree, workdir / "base.out", overrides)
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=root, capture_output=True)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("base_ref", help="git revision to compare against (e.g. origin/main)")
    parser.add_argument("--output", type=Path, help="write the Markdown here (default: standard output)")
    parser.add_argument("-c", "--context", action="append", default=[], metavar="KEY=VALUE", help="context for both synths, as with cdk -c")
    args = parser.parse_args(argv)
    args.overrides = {}
    for item in args.context:
        key, sep, value = item.partition("=")
        if not sep:
            parser.error(f"-c expects KEY=VALUE, got {item!r}")
        args.overrides[key] = value
    return args


def progress(message: str) -> None:
    """A line on standard error: the report itself may go to standard output."""
    print(f"llm-infra-diff: {message}", file=sys.stderr, flush=True)


def _timed(label: str, started: float, job: Callable[..., Assembly], *args: object) -> Assembly:
    result = job(*args)
    progress(f"synthesized {label} in {time.monotonic() - started:.0f} s")
    return result


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    root = checkout()
    check = subprocess.run(["git", "rev-parse", "--verify", f"{args.base_ref}^{{commit}}"], cwd=root, capture_output=True, text=True)
    if check.returncode != 0:
        print(f"error: {args.base_ref!r} is not a git revision here", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="infra-diff-") as tmp:
        workdir = Path(tmp)
        try:
            # The two synths are independent processes: run them side by side.
            progress(f"synthesizing {args.base_ref} and the working tree side by side (10-30 s)...")
            started = time.monotonic()
            with ThreadPoolExecutor(max_workers=2) as pool:
                base_job = pool.submit(_timed, args.base_ref, started, base_assembly, root, args.base_ref, workdir, args.overrides)
                head_job = pool.submit(_timed, "the working tree", started, synthesize, root, workdir / "head.out", args.overrides)
                base, head = base_job.result(), head_job.result()
            report, code = render(base, head, args.base_ref), 3 if rejected(base, head) else 0
        except SynthFailed as error:
            report, code = f"# Infrastructure changes against `{args.base_ref}`\n\n**Synth failed**\n\n```\n{error}\n```\n", 1
    if args.output:
        args.output.write_text(report)
        progress(f"wrote {args.output}")
    else:
        sys.stdout.write(report)
    return code


if __name__ == "__main__":
    sys.exit(main())
