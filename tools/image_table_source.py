"""Reads image URIs from the installed `sagemaker` SDK's registry (slow import: tools and tests only).

`llm-update-image-table` writes what this returns to `blueprint/images/image_table.json`; the test of
the table compares the file with a fresh read. Synth never imports this module.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

_URI = re.compile(r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.(?P<domain>[a-z0-9.-]+)/(?P<repository>[^:]+):(?P<tag>.+)$")


def sdk_version() -> str:
    from importlib.metadata import version

    return version("sagemaker-core")


def read_images(images: Iterable[tuple[str, str]]) -> dict:
    """For each (framework, version): every region the registry lists, with URI and account."""
    from sagemaker.core import image_uris

    table: dict = {}
    with _endpoints_read_once():
        for framework, version in sorted(set(images)):
            config = image_uris.config_for_framework(framework)
            config = config.get("inference", config)
            resolved = config.get("version_aliases", {}).get(version, version)
            if resolved not in config["versions"]:
                raise KeyError(f"{framework} {version} is not in the sagemaker SDK's image registry")
            regions = sorted(config["versions"][resolved]["registries"])
            entry: dict = {"regions": {}}
            for region in regions:
                uri = image_uris.retrieve(framework, region=region, version=version, image_scope="inference")
                match = _URI.match(uri)
                if not match:
                    raise ValueError(f"unexpected image URI from the SDK: {uri}")
                entry["repository"] = match["repository"]
                entry["tag"] = match["tag"]
                entry["regions"][region] = {"account": match["account"], "uri": uri}
            table.setdefault(framework, {})[version] = entry
    return table


@contextmanager
def _endpoints_read_once() -> Iterator[None]:
    """The SDK parses botocore's endpoints.json (about 70 ms) for every URI it builds: parse it once.

    The file does not change while we read, so the URIs are the same; only the SDK's module
    attribute is swapped, for the duration of one read.
    """
    from sagemaker.core import common_utils

    original = common_utils._botocore_resolver
    common_utils._botocore_resolver = functools.cache(original)
    try:
        yield
    finally:
        common_utils._botocore_resolver = original
