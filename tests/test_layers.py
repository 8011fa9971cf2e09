"""Imports run one way, down the layers drawn in docs/architecture.md.

The import graph is read from the source with ``ast`` (nothing is imported), counting imports inside functions
too: a lazy import is still a dependency. A module whose layer is not listed counts as an application (the top
layer), so a new module only needs a line here when something lower has to import it.
"""

from __future__ import annotations

import ast
import fnmatch
import functools
from collections import defaultdict
from pathlib import Path

PACKAGE = "normwear_hf"
SOURCE = Path(__file__).resolve().parents[1] / "src" / PACKAGE

# Bottom to top: a module may import its own layer and the layers below it, never one above.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("foundation", ("_version", "_lazy", "utils", "utils.*")),
    (
        "model code (exported as remote code)",
        (
            "configuration_normwear",
            "signal_processing",
            "rhythm_features",
            "feature_extraction_normwear",
            "modeling_normwear",
            "modeling_normwear_zero_shot",
            "pipeline_normwear_zero_shot",
            "text_encoder_normwear",
            "zero_shot_labels_normwear",
            "normwear_onnx",
        ),
    ),
    (
        "checkpoints and data",
        (
            "checkpoint",
            "hub_cache",
            "data",
            "data.*",
            "samples",
            "io_readers",
            "io_tables",
            "io_streams",
            "quality",
            "streaming",
            "sharding",
        ),
    ),
    ("model runners", ("inference", "training", "training.*", "evaluation", "evaluation.*")),
    ("zero-shot", ("zero_shot", "zero_shot.*")),
]
APPLICATIONS = "applications"
REMOTE_CODE = LAYERS[1][0]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SOURCE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def is_module(name: str) -> bool:
    path = SOURCE.parent.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def imported_modules(path: Path) -> set[str]:
    """The package's modules that ``path`` imports (``from . import x`` counts as ``x`` when it is a module)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            for alias in node.names:
                found.add(f"{base}.{alias.name}" if is_module(f"{base}.{alias.name}") else base)
    return {target for target in found if target == PACKAGE or target.startswith(PACKAGE + ".")}


@functools.cache
def import_graph() -> dict[str, set[str]]:
    return {
        module_name(path): imported_modules(path)
        for path in sorted(SOURCE.rglob("*.py"))
        if "pretrained" not in path.relative_to(SOURCE).parts
    }


def layer_of(module: str) -> int:
    """Index into LAYERS; ``len(LAYERS)`` for an application (anything unlisted, and the package root)."""
    relative = module[len(PACKAGE) + 1 :]
    for index, (_, patterns) in enumerate(LAYERS):
        if module != PACKAGE and any(fnmatch.fnmatchcase(relative, pattern) for pattern in patterns):
            return index
    return len(LAYERS)


def layer_name(index: int) -> str:
    return LAYERS[index][0] if index < len(LAYERS) else APPLICATIONS


def test_no_module_imports_the_package_root():
    offenders = sorted(module for module, targets in import_graph().items() if module != PACKAGE and PACKAGE in targets)
    assert not offenders, (
        f"{offenders} import the package root {PACKAGE!r}, which imports (and registers) everything: import the "
        "module that defines the name instead (e.g. ._version, .registration)."
    )


def test_imports_run_down_the_layers():
    upward = sorted(
        f"{module} ({layer_name(layer_of(module))}) -> {target} ({layer_name(layer_of(target))})"
        for module, targets in import_graph().items()
        for target in targets
        if target != PACKAGE and layer_of(target) > layer_of(module)
    )
    assert not upward, "imports that run up a layer (see docs/architecture.md):\n" + "\n".join(upward)


def test_remote_code_imports_only_remote_code():
    remote = {module for module in import_graph() if layer_name(layer_of(module)) == REMOTE_CODE}
    outside = sorted(
        f"{module} -> {target}" for module in remote for target in import_graph()[module] if target not in remote
    )
    assert not outside, "files saved beside a model must import only each other:\n" + "\n".join(outside)


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm: the groups of nodes that reach each other (only groups of two or more)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def test_no_import_cycles_between_packages():
    """``evaluation`` and ``zero_shot`` once imported each other; no two top-level packages or modules may."""
    top = defaultdict(set)
    for module, targets in import_graph().items():
        if module == PACKAGE:
            continue
        source = module.split(".")[1]
        top[source].update(target.split(".")[1] for target in targets if target != PACKAGE)
        top[source].discard(source)
    assert not strongly_connected(top), f"packages that import each other: {strongly_connected(top)}"


def test_no_import_cycles_between_modules():
    cycles = strongly_connected(import_graph())
    assert not cycles, f"modules that import each other: {cycles}"
