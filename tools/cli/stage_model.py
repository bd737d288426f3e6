"""Stage a model's weights into the model bucket, check a staged prefix, or delete it.

    llm-stage-model                         # the configured model, from the hub
    llm-stage-model --source-dir ./weights  # from a local directory
    llm-stage-model --check                 # before `cdk deploy` of an s3-mode variant
    llm-stage-model --delete                # the recipe's clean-up (asks first)

Defaults come from the app's configuration (cdk.json, `--profile-name`): model id, revision and
the prefix `models/<model id>/<revision>/`; the bucket from the LlmModelBucket stack's output.
A re-run uploads only what is missing or different; the manifest is written last.
Exit codes: 0 ok, 2 usage, 3 source (gated, unknown revision, offline), 4 bucket missing or
denied, 5 disk full, 6 check failed.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from blueprint.config.names import BUCKET_STACK_ID, prefixed
from blueprint.loader import load_project_config
from streaming_client.aws_session import aws_session
from streaming_client.endpoint_discovery import stack_outputs
from streaming_client.errors import SmokeTestError
from tools.model_staging import s3_staging, sources
from tools.model_staging.errors import DestinationError, StagingError
from tools.model_staging.manifest import HashCache, TransferSettings


class UsageError(StagingError):
    exit_code = 2


def parse_args(argv: list[str]) -> argparse.Namespace:
    doc = __doc__.split("\n\n")
    parser = argparse.ArgumentParser(description=doc[0], epilog="\n\n".join(doc[1:]), formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile-name", help="app profile whose model to stage (default: cdk.json's)")
    parser.add_argument(
        "--variant", metavar="NAME", help="stage the model of deployment variants.NAME (default: the profile's top-level model.*)"
    )
    parser.add_argument("--model-id", help="hub repo id (default: the profile's model.id)")
    parser.add_argument("--revision", help="hub revision, pin a commit (default: the profile's model.revision)")
    parser.add_argument("--source-dir", type=Path, help="stage this directory instead of downloading from the hub")
    parser.add_argument("--token-secret", help="Secrets Manager secret holding the hub token (else HF_TOKEN or the hub login cache)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--bucket", help="model bucket (default: the LlmModelBucket stack's ModelBucketName output)")
    where.add_argument("--stack", help="bucket stack to read the bucket name from (default: LlmModelBucket)")
    parser.add_argument(
        "--app-name", default="", help="the app's app_name setting, if it has one: its bucket stack is <app-name>-LlmModelBucket"
    )
    parser.add_argument("--prefix", help="S3 prefix (default: the profile's weights prefix)")
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--dry-run", action="store_true", help="show what would be uploaded; change nothing")
    action.add_argument("--check", action="store_true", help="verify the staged prefix against its manifest")
    action.add_argument("--delete", action="store_true", help="delete the staged prefix (asks for confirmation)")
    parser.add_argument("--yes", action="store_true", help="with --delete: do not ask")
    parser.add_argument("--concurrency", type=int, default=TransferSettings.max_concurrency)
    parser.add_argument("--part-size-mib", type=int, default=TransferSettings.multipart_chunksize // 2**20)
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.add_argument(
        "--no-hash-cache", action="store_true", help="read every file again (default: files unchanged since the last run are not re-hashed)"
    )
    parser.add_argument("--profile", help="AWS profile")
    parser.add_argument("--region", help="AWS region")
    return parser.parse_args(argv)


def status(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def resolve_bucket(args: argparse.Namespace, session) -> str:
    if args.bucket:
        return args.bucket
    stack = args.stack or prefixed(args.app_name, BUCKET_STACK_ID)
    try:
        outputs = stack_outputs(session.client("cloudformation"), stack)
    except SmokeTestError as error:
        raise DestinationError(f"{error}; pass --bucket") from None
    if "ModelBucketName" not in outputs:
        raise DestinationError(f"stack {stack} has no ModelBucketName output; pass --bucket")
    return outputs["ModelBucketName"]


def hash_cache_path() -> Path:
    """Where the hashes of files already read are kept ($XDG_CACHE_HOME or ~/.cache)."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "llm-stage-model" / "hashes.json"


def size(count: int) -> str:
    """Bytes in the largest decimal unit that keeps a whole number in front: 12.6 MB, not 0.01 GB."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if count >= scale:
            return f"{count / scale:.2f} {unit}"
    return f"{count} bytes"


def hub_token(args: argparse.Namespace, session) -> str | None:
    if not args.token_secret:
        return None  # huggingface_hub reads HF_TOKEN or its login cache itself
    try:
        return session.client("secretsmanager").get_secret_value(SecretId=args.token_secret)["SecretString"]
    except Exception as error:  # noqa: BLE001
        raise UsageError(f"cannot read secret {args.token_secret}: {type(error).__name__}") from None


def run(args: argparse.Namespace) -> int:
    config = load_project_config(args.profile_name)  # model and prefix as the stacks see them
    if args.variant is not None and args.variant not in config.variants:
        raise UsageError(f"--variant {args.variant}: no such deployment in profile {config.profile}; have: {', '.join(config.variants)}")
    model = config.variants[args.variant].model if args.variant else config.model
    model_id = args.model_id or model.id
    revision = args.revision or model.revision
    if args.prefix:
        prefix = args.prefix.rstrip("/") + "/"
    elif args.model_id or args.revision:
        prefix = f"models/{model_id}/{revision}/"
    else:
        prefix = config.weights_s3_prefix(model)
    session = aws_session(args.profile, args.region)
    s3 = session.client("s3")
    bucket = resolve_bucket(args, session)
    target = f"s3://{bucket}/{prefix}"

    if args.check:
        manifest = s3_staging.check(s3, bucket, prefix)
        status(
            f"ok: {target} matches its manifest ({len(manifest.files)} files, {manifest.source.get('repo_id')}@{manifest.source.get('commit') or manifest.source.get('revision')})"
        )
        return 0
    if args.delete:
        if not args.yes:
            if not sys.stdin.isatty():
                raise UsageError("refusing to delete without confirmation: pass --yes")
            if input(f"delete every object under {target}? type the prefix to confirm: ").strip().rstrip("/") + "/" != prefix:
                raise UsageError("not confirmed; nothing deleted")
        status(f"deleted {s3_staging.delete_prefix(s3, bucket, prefix)} objects under {target}")
        return 0

    transfer = TransferSettings(
        max_concurrency=args.concurrency, multipart_chunksize=args.part_size_mib * 2**20, multipart_threshold=args.part_size_mib * 2**20
    )
    if args.source_dir:
        source = sources.local_directory(args.source_dir, repo_id=model_id, revision=revision)
        named_by = "--model-id" if args.model_id else f"the profile's model.id (profile {config.profile}; --model-id to name it otherwise)"
        status(f"staging {args.source_dir} as {model_id}@{revision}, named by {named_by}")
    else:
        status(f"downloading {model_id}@{revision} from the hub (cache: HF_HOME)")
        source = sources.hub_snapshot(model_id, revision, token=hub_token(args, session))
    cache = HashCache(None if args.no_hash_cache else hash_cache_path())
    hashing = None if args.quiet else _progress(sum(p.stat().st_size for _, p in sources.weight_files(source)), "hashing")
    try:
        staged = s3_staging.plan(
            s3, bucket, prefix, source, transfer, cache=cache, on_hashed=hashing.update if hashing else (lambda n: None)
        )
    finally:
        if hashing:
            hashing.close()
    total = sum(e.size for e, _ in staged.files)
    if not staged.files:
        raise UsageError(f"no weight files in {source.directory} (patterns: {', '.join(sources.RECIPE_PATTERNS)})")
    skipped_files = sources.skipped_files(source)
    if skipped_files:
        shown = ", ".join(skipped_files[:5]) + (f" and {len(skipped_files) - 5} more" if len(skipped_files) > 5 else "")
        status(f"skipping {len(skipped_files)} file(s) no allow pattern matches ({', '.join(sources.RECIPE_PATTERNS)}): {shown}")
    if args.dry_run:
        for entry, _ in staged.to_upload:
            status(f"would upload {entry.path} ({entry.size:,} bytes)")
        status(
            f"dry run: {len(staged.to_upload)} of {len(staged.files)} files ({size(staged.bytes_to_upload)} of {size(total)}) to {target}"
        )
        return 0

    start = time.monotonic()
    progress = None if args.quiet else _progress(staged.bytes_to_upload)
    try:
        s3_staging.upload(
            s3,
            bucket,
            prefix,
            staged,
            transfer,
            on_bytes=progress.update if progress else (lambda n: None),
            on_resumed=lambda path, kept: status(f"resumed {path}: {kept} part(s) already uploaded kept") if kept else None,
        )
    finally:
        if progress:
            progress.close()
    elapsed = time.monotonic() - start
    skipped = len(staged.files) - len(staged.to_upload)
    status(
        f"staged {len(staged.files)} files ({size(total)}) at {target}: uploaded {len(staged.to_upload)} ({size(staged.bytes_to_upload)}) in {elapsed:.1f} s, {skipped} unchanged"
    )
    return 0


def _progress(total: int, desc: str = "upload"):
    from tqdm import tqdm

    # leave=False: a finished bar is cleared, so the next line starts at the left.
    return tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=desc, file=sys.stderr, leave=False)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        return run(args)
    except StagingError as error:
        status(f"error: {error}")
        return error.exit_code
    except KeyboardInterrupt:
        status("interrupted: run again to resume (finished files are kept)")
        return 130
    except Exception as error:  # noqa: BLE001 - one line, never a traceback
        status(f"error: unexpected {type(error).__name__}: {error}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
