"""Markdown review report of the infrastructure a change makes, against a base git revision.

    llm-infra-diff origin/main [--output report.md] [-c key=value ...]

Synthesizes the base revision (in a temporary git worktree) and the working tree side by side, with
the same context, and reports per stack: resources added, removed, changed (with the properties), which
changes replace resources and what that means here, the price per hour before and after, IAM
statements added or removed, and cdk-nag acknowledgments added or removed. Needs no AWS access.
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
    """Run the tree's app.py as the CDK CLI would, offline, into `outdir`."""
    context = {**project_context(tree), **CDK_CLI_CONTEXT, **overrides}
    env = {
        **os.environ,
        "CDK_OUTDIR": str(outdir),
        "CDK_CONTEXT_JSON": json.dumps(context),
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
            with ThreadPoolExecutor(max_workers=2) as pool:
                base_job = pool.submit(base_assembly, root, args.base_ref, workdir, args.overrides)
                head_job = pool.submit(synthesize, root, workdir / "head.out", args.overrides)
                base, head = base_job.result(), head_job.result()
            report, code = render(base, head, args.base_ref), 3 if rejected(base, head) else 0
        except SynthFailed as error:
            report, code = f"# Infrastructure changes against `{args.base_ref}`\n\n**Synth failed**\n\n```\n{error}\n```\n", 1
    if args.output:
        args.output.write_text(report)
    else:
        sys.stdout.write(report)
    return code


if __name__ == "__main__":
    sys.exit(main())
