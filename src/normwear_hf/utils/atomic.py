"""Files and folders that appear whole or not at all.

A reader (another process, a resumed run, a cache lookup) must never see a half-written model card, embedding
cache, corpus or exported model. Everything here writes under a temporary name on the same filesystem and
renames it into place with ``os.replace`` (atomic on POSIX and Windows); a failure removes the temporary.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

__all__ = ["atomic_writer", "make_staging_folder", "publish_files", "publish_folder", "write_text_atomic"]


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_writer(
    path: str | os.PathLike, mode: str = "w", suffix: str = ".tmp", scratch: str | os.PathLike | None = None
) -> Iterator[IO]:
    """Open a temporary file for writing and rename it onto ``path`` when the block ends without an error.

    The temporary lives in ``scratch`` when given (a folder on the same filesystem, for folders where a stray
    file would be read as data, such as a Hub cache's ``refs``), otherwise beside ``path``.
    """
    path = Path(path)
    folder = Path(scratch) if scratch is not None else path.parent
    folder.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(suffix=suffix, dir=folder)
    try:
        os.chmod(temporary, 0o666 & ~_current_umask())  # mkstemp makes 0600; the result should read like open()'s
        with os.fdopen(handle, mode) as file:
            yield file
        path.parent.mkdir(parents=True, exist_ok=True)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_text_atomic(path: str | os.PathLike, text: str, scratch: str | os.PathLike | None = None) -> Path:
    """Write ``text`` to ``path`` through :func:`atomic_writer`; returns ``path``."""
    with atomic_writer(path, "w", scratch=scratch) as file:
        file.write(text)
    return Path(path)


def make_staging_folder(out_dir: Path, overwrite: bool) -> Path:
    """A hidden, empty folder beside ``out_dir`` to build in; refuses a non-empty ``out_dir`` unless ``overwrite``."""
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())) and not overwrite:
        raise FileExistsError(f"{out_dir} exists and is not empty; pass overwrite=True (--overwrite) to replace it.")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = out_dir.parent / f".{out_dir.name}.partial-{uuid.uuid4().hex[:12]}"
    staging.mkdir()
    return staging


def publish_folder(staging: Path, out_dir: Path) -> None:
    """Rename the finished folder to ``out_dir``; an old ``out_dir`` is removed only afterwards."""
    retired = None
    if out_dir.exists() or out_dir.is_symlink():
        retired = out_dir.parent / f".{out_dir.name}.old-{uuid.uuid4().hex[:12]}"
        os.replace(out_dir, retired)
    os.replace(staging, out_dir)
    if retired is not None and retired.is_dir() and not retired.is_symlink():
        shutil.rmtree(retired, ignore_errors=True)
    elif retired is not None:
        retired.unlink()


def publish_files(staging: Path, folder: Path, markers: Iterable[str]) -> None:
    """Move every file of the finished ``staging`` folder into ``folder``, which holds other things too (a training
    run's folder: its checkpoints and logs), then remove ``staging``.

    Several files cannot be renamed into a shared folder in one step, so the ``markers`` (the files a reader opens
    first, e.g. a model's weights) stand for the whole set: the old markers are removed before anything moves, and
    the new ones move in, in the order given, after every other file. A reader that finds the markers therefore
    finds the whole old set or the whole new set; a publish killed half way leaves no markers (nothing that loads),
    never new files beside old weights.
    """
    markers = list(markers)
    for name in markers:
        (folder / name).unlink(missing_ok=True)
    rank = {name: position for position, name in enumerate(markers)}
    for file in sorted(staging.iterdir(), key=lambda path: (path.name in rank, rank.get(path.name, 0), path.name)):
        os.replace(file, folder / file.name)
    staging.rmdir()
