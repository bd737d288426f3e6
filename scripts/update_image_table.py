"""Regenerate images/image_table.json from the installed sagemaker SDK's image registry.

Usage: python scripts/update_image_table.py [FRAMEWORK=VERSION ...]

It always includes every image the profiles use; extra FRAMEWORK=VERSION arguments add more
(kept until the next run without them). Review the diff like any data change.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from images.image_catalog import TABLE_PATH, profile_images, write_table  # noqa: E402
from images.image_table_source import read_images, sdk_version  # noqa: E402


def main(argv: list[str]) -> int:
    wanted = set(profile_images())
    for arg in argv:
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
    sys.exit(main(sys.argv[1:]))
