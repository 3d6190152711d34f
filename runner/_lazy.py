"""A package's names imported on first use (PEP 562), so importing one light module of it does
not build everything the package exports.

    __getattr__ = lazy_getattr(__name__, {"Runtime": ("runner.executor", "Runtime")}, globals())
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_getattr"]


def lazy_getattr(package: str, where: Mapping[str, tuple[str, str]], namespace: dict[str, Any]) -> Callable[[str], Any]:
    """The module `__getattr__` for `package`: `where[name]` = (module, attribute); the value is
    imported once and then kept in the package's `namespace`."""
    def __getattr__(name: str) -> Any:
        if name not in where:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        import importlib

        module, attribute = where[name]
        value = getattr(importlib.import_module(module), attribute)
        namespace[name] = value
        return value

    return __getattr__
