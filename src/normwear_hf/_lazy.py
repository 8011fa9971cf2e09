"""Module ``__getattr__`` hooks (PEP 562) for names a module resolves on first use.

:func:`lazy_getattr`: names a package exports but imports only when asked for, as transformers' ``_LazyModule``
does, so that the command line answers ``--help`` without waiting for torch and transformers.
:func:`moved_getattr`: names that moved to another module stay importable from the old one for a release, with a
``DeprecationWarning`` that says where they went.
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable, Mapping
from typing import Any


def lazy_getattr(package: str, names: Mapping[str, str], namespace: dict[str, Any]) -> Callable[[str], Any]:
    """A module ``__getattr__`` that imports ``names[name]`` (a submodule of ``package``) and caches the value."""

    def __getattr__(name: str) -> Any:
        if name not in names:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f".{names[name]}", package), name)
        namespace[name] = value
        return value

    return __getattr__


def moved_getattr(module: str, moved: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for names that moved: ``moved[name]`` is the new module (relative to ``module``'s
    package, e.g. ``"..evaluation.zero_shot_report"``, or absolute). Each use warns; the value is not cached, so
    every old-path import keeps warning until the caller updates it."""
    package = module if module.count(".") == 0 else module.rpartition(".")[0]

    def __getattr__(name: str) -> Any:
        if name not in moved:
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        target = importlib.import_module(moved[name], package)
        warnings.warn(
            f"{module}.{name} moved to {target.__name__}.{name}; import it from there (the old path will be removed "
            "in the next release).",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(target, name)

    return __getattr__
