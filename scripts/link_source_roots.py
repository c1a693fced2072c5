"""Puts the project's three source roots on the virtual environment's path with a .pth file.

The code lives in three roots (the repository itself, the generated protos and the Python client), and a plain
path entry per root is the one layout that Python, mypy, pytest and grpc's generated imports all read the same way.
"""

from __future__ import annotations

import sysconfig
from pathlib import Path

ROOTS = (".", "protos/gen/python", "clients/python")


def main() -> None:
    repo = Path(__file__).resolve().parent.parent
    site = Path(sysconfig.get_paths()["purelib"])
    lines = [str((repo / root).resolve()) for root in ROOTS]
    (site / "skillbridge-source-roots.pth").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
