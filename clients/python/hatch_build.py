"""Build hook of skillbridge-client: copies the generated protos the SDK needs (skillbridge.scheduler.v1 and
skillbridge.common.v1, with their typing stubs) into the wheel. Editable installs get no copy, which would hide a
later `make gen`: they read the protos in place through dev-mode-dirs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

GENERATED = Path(__file__).resolve().parent.parent.parent / "protos" / "gen" / "python" / "skillbridge"
PACKAGES = ("common", "scheduler")


class GeneratedProtosHook(BuildHookInterface):
    """Adds the generated packages to a standard wheel."""

    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel" or version == "editable":
            return
        build_data["force_include"][str(GENERATED / "py.typed")] = "skillbridge/py.typed"
        for package in PACKAGES:
            build_data["force_include"][str(GENERATED / package)] = f"skillbridge/{package}"
