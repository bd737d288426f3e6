"""Regenerate blueprint/images/image_table.json from the installed sagemaker SDK's image registry.

Usage: llm-update-image-table [FRAMEWORK=VERSION ...]

It always includes every image the profiles use; extra FRAMEWORK=VERSION arguments add more
(kept until the next run without them). Review the diff like any data change.
"""

from __future__ import annotations

import sys

from blueprint.config.profiles import profile_images
from blueprint.images.image_catalog import TABLE_PATH, write_table
from tools.image_table_source import read_images, sdk_version


def main(argv: list[str] | None = None) -> int:
    wanted = set(profile_images())
    for arg in sys.argv[1:] if argv is None else argv:
        framework, _, version = arg.partition("=")
        if not version:
            print(f"error: expected FRAMEWORK=VERSION, got {arg!r}", file=sys.stderr)
            return 2
        wanted.add((framework, version))
    try:
        images = read_images(wanted)
    except (KeyError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    write_table(images, sdk_version())
    count = sum(len(v["regions"]) for versions in images.values() for v in versions.values())
    print(f"wrote {TABLE_PATH} ({len(wanted)} images, {count} region entries)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
