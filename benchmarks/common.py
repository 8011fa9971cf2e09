"""Shared helpers for the benchmark scripts: a machine description and Markdown section updates.

``write_section(name, markdown)`` keeps each benchmark's results in its own block of ``docs/benchmarks.md``,
between ``<!-- bench:NAME:start -->`` and ``<!-- bench:NAME:end -->``, so scripts can rewrite their own
numbers without touching the others.
"""

from __future__ import annotations

import os
import platform
import re
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
TITLE = "# Benchmarks\n"


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def _core_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def machine_info() -> dict[str, str]:
    """CPU model, usable cores, library versions and the GPU (if any) as a dictionary of strings."""
    import numpy

    info = {
        "cpu": _cpu_model(),
        "cores": str(_core_count()),
        "python": platform.python_version(),
        "numpy": numpy.__version__,
    }
    try:
        import torch

        info["torch"] = torch.__version__
        info["torch_threads"] = str(torch.get_num_threads())
        info["gpu"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
    except ImportError:
        info["torch"] = "not installed"
        info["gpu"] = "unknown"
    return info


def machine_description() -> str:
    """One line for a report, e.g. ``AMD EPYC (2 cores), torch 2.13.0+cpu (2 threads), numpy 2.4.6, GPU: none``."""
    info = machine_info()
    torch_part = f"torch {info['torch']}"
    if "torch_threads" in info:
        torch_part += f" ({info['torch_threads']} threads)"
    return (
        f"{info['cpu']} ({info['cores']} cores), Python {info['python']}, {torch_part}, "
        f"numpy {info['numpy']}, GPU: {info['gpu']}"
    )


def write_section(name: str, markdown: str, path: str | os.PathLike = "docs/benchmarks.md") -> Path:
    """Replace (or append) the block ``<!-- bench:NAME:start -->...<!-- bench:NAME:end -->`` in ``path``.

    A relative ``path`` is taken from the repository root, so scripts work from any directory. The file is
    created with a ``# Benchmarks`` title if missing. Returns the path written.
    """
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
        raise ValueError(f"section name must be letters, digits, '_', '.' or '-', got {name!r}")
    target = Path(path)
    if not target.is_absolute():
        target = REPO_ROOT / target
    start, end = f"<!-- bench:{name}:start -->", f"<!-- bench:{name}:end -->"
    block = f"{start}\n{markdown.strip()}\n{end}"
    text = target.read_text(encoding="utf-8") if target.exists() else TITLE
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), flags=re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _: block, text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    return target
