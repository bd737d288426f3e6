"""Where weights come from: a Hugging Face hub snapshot (through huggingface_hub) or a directory."""

from __future__ import annotations

import errno
import fnmatch
from dataclasses import dataclass
from pathlib import Path

from tools.model_staging.errors import DiskFull, SourceError

# The reference recipe's allow patterns (SPEC Part 1, LMI weights).
RECIPE_PATTERNS = ("*.json", "*.txt", "*.model", "*.safetensors", "*.bin", "*.chk", "*.pth")


@dataclass(frozen=True)
class Source:
    """A local directory of weights and what it is a copy of."""

    directory: Path
    description: dict  # kind, repo_id, revision, commit


def hub_snapshot(repo_id: str, revision: str, *, token: str | None, patterns=RECIPE_PATTERNS, cache_dir: Path | None = None) -> Source:
    """Download (or reuse from the hub cache) the snapshot of `repo_id` at `revision`.

    With HF_HUB_OFFLINE=1 it is served from the local cache only. The token is used for the call and
    never stored by this code.
    """
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import GatedRepoError, LocalEntryNotFoundError, RepositoryNotFoundError, RevisionNotFoundError

    try:
        path = Path(snapshot_download(repo_id, revision=revision, allow_patterns=list(patterns), token=token, cache_dir=cache_dir))
    except GatedRepoError:
        raise SourceError(
            f"{repo_id} is gated: accept its licence on the hub and give a read token (HF_TOKEN, hf auth login, or --token-secret)"
        ) from None
    except RevisionNotFoundError:
        raise SourceError(f"{repo_id} has no revision {revision!r}") from None
    except RepositoryNotFoundError:
        raise SourceError(f"no model {repo_id!r} on the hub (or it is private and the token cannot see it)") from None
    except LocalEntryNotFoundError:
        raise SourceError(f"{repo_id}@{revision} is not in the local hub cache and the hub cannot be reached") from None
    except OSError as error:
        if error.errno == errno.ENOSPC:
            raise DiskFull(f"no space left while downloading {repo_id}: free disk or set HF_HOME to a larger volume") from None
        raise SourceError(f"downloading {repo_id}: {error}") from None
    # The snapshot folder is named after the commit the revision resolved to.
    return Source(path, {"kind": "hub", "repo_id": repo_id, "revision": revision, "commit": path.name})


def local_directory(directory: Path, *, repo_id: str, revision: str) -> Source:
    if not directory.is_dir():
        raise SourceError(f"{directory} is not a directory")
    return Source(directory, {"kind": "local", "repo_id": repo_id, "revision": revision, "directory": str(directory)})


def weight_files(source: Source, patterns=RECIPE_PATTERNS) -> list[tuple[str, Path]]:
    """(relative path, file) of every file matching the allow patterns, sorted."""
    found = []
    for path in sorted(source.directory.rglob("*")):
        relative = path.relative_to(source.directory).as_posix()
        if path.is_file() and not relative.startswith(".") and any(fnmatch.fnmatch(path.name, p) for p in patterns):
            found.append((relative, path))
    return found


def skipped_files(source: Source, patterns=RECIPE_PATTERNS) -> list[str]:
    """Relative paths of the files no allow pattern matches (hidden files and folders aside)."""
    kept = {relative for relative, _ in weight_files(source, patterns)}
    return [
        relative
        for path in sorted(source.directory.rglob("*"))
        if path.is_file()
        and not (relative := path.relative_to(source.directory).as_posix()).startswith(".")
        and "/." not in f"/{relative}"
        and relative not in kept
    ]
