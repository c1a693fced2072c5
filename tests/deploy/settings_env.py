"""The SKILLBRIDGE_* environment variables the processes read, taken from the settings classes themselves (every
class named *Settings in a `settings` module under services/ or gateway/, dataclass or pydantic-settings), so
the deployment checks follow the settings wherever they move."""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
from types import ModuleType
from typing import Any

PREFIX = "SKILLBRIDGE_"
PACKAGES = ("services", "gateway")


def settings_modules() -> list[ModuleType]:
    modules = []
    for package_name in PACKAGES:
        package = importlib.import_module(package_name)
        for info in pkgutil.walk_packages(package.__path__, prefix=f"{package_name}."):
            if info.name.rsplit(".", 1)[-1] == "settings":
                modules.append(importlib.import_module(info.name))
    return modules


def settings_classes() -> list[type]:
    return [
        value
        for module in settings_modules()
        for value in vars(module).values()
        if isinstance(value, type) and value.__name__.endswith("Settings") and value.__module__ == module.__name__
    ]


def env_names_of(cls: type) -> set[str]:
    """The variables one settings class reads."""
    if dataclasses.is_dataclass(cls):
        return {f"{PREFIX}{f.name.upper()}" for f in dataclasses.fields(cls)}
    model_fields: dict[str, Any] | None = getattr(cls, "model_fields", None)
    if model_fields is not None:  # pydantic-settings: env_prefix + field name (or its alias)
        config: dict[str, Any] = dict(getattr(cls, "model_config", {}))
        prefix = str(config.get("env_prefix", ""))
        names = set()
        for name, info in model_fields.items():
            alias = getattr(info, "validation_alias", None) or getattr(info, "alias", None)
            names.add(str(alias).upper() if isinstance(alias, str) else f"{prefix}{name}".upper())
        return names
    return set()


def read_env_names() -> set[str]:
    """Every SKILLBRIDGE_* variable some settings class reads."""
    names: set[str] = set()
    for cls in settings_classes():
        names |= {n for n in env_names_of(cls) if n.startswith(PREFIX)}
    return names
