"""Load the pickled releases of public corpora (WESAD, PPG-DaLiA ``SX.pkl``) without executing arbitrary code.

``pickle.load`` runs whatever callable a file names. :func:`load_pickle` uses :class:`RestrictedUnpickler`, which
resolves only the globals that numpy arrays, numpy scalars and plain containers need, and refuses every other
one with :class:`UnsafePickleError` (naming the global and the file) before anything is called.

The releases were written by Python 2: their byte strings are read as text with ``encoding="latin1"``, which is
also how numpy's ``ndarray.__setstate__`` expects Python-2 array buffers. :func:`dump_legacy_pickle` writes
files the way Python 2 did (protocol 2, ``str`` as ``BINSTRING``, ``numpy.core`` module names), for fixtures.
"""

from __future__ import annotations

import io
import os
import pickle
import struct
from pathlib import Path
from typing import Any

__all__ = [
    "CorruptPickleError",
    "PickleBombError",
    "RestrictedUnpickler",
    "UnsafePickleError",
    "dump_legacy_pickle",
    "load_pickle",
]


class UnsafePickleError(ValueError):
    """A pickle names a global outside the allow-list; nothing from the file was executed."""


class CorruptPickleError(ValueError):
    """A pickle file is truncated or not a pickle at all."""


_NUMPY_CORE = ("numpy.core.multiarray", "numpy._core.multiarray", "numpy.core.numeric", "numpy._core.numeric")
ALLOWED_GLOBALS: dict[str, frozenset[str]] = {
    "numpy": frozenset({"ndarray", "dtype"}),
    "numpy.core.multiarray": frozenset({"_reconstruct", "scalar"}),
    "numpy._core.multiarray": frozenset({"_reconstruct", "scalar"}),
    "numpy.core.numeric": frozenset({"_frombuffer"}),
    "numpy._core.numeric": frozenset({"_frombuffer"}),
    # Plain containers and numbers, under their Python 3 and Python 2 module names.
    "builtins": frozenset({"dict", "list", "tuple", "set", "frozenset", "bytearray", "complex", "slice", "range"}),
    "__builtin__": frozenset({"dict", "list", "tuple", "set", "frozenset", "bytearray", "complex", "slice"}),
    # Protocol-2 pickles written by Python 3 store ``bytes`` as _codecs.encode(text, "latin1").
    "_codecs": frozenset({"encode"}),
}
"""Module -> names that :class:`RestrictedUnpickler` resolves. Everything else is refused."""


def _numpy_core_module(module: str) -> str:
    """Map ``numpy.core.*`` <-> ``numpy._core.*`` to whichever the installed numpy provides (no warnings)."""
    import numpy as np

    major = int(np.__version__.split(".")[0])
    if major >= 2 and module.startswith("numpy.core."):
        return "numpy._core." + module[len("numpy.core.") :]
    if major < 2 and module.startswith("numpy._core."):
        return "numpy.core." + module[len("numpy._core.") :]
    return module


class PickleBombError(ValueError):
    """A pickle asks for far more memory than its size can justify (a decompression-bomb-like file)."""


#: Memory a pickle may ask for, at least: :func:`load_pickle` allows ``max(this, EXPANSION x file size)``.
MIN_ALLOCATION_BYTES = 256 * 2**20
#: A genuine release holds its arrays as raw bytes, so what it builds is about its own size; 64x is generous.
EXPANSION = 64


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that resolves only :data:`ALLOWED_GLOBALS`; ``source`` names the file in error messages.

    The allowed callables that can allocate from a small argument (``bytearray(n)``, ``list(range(n))``, numpy's
    ``_reconstruct(ndarray, shape, dtype)``) are wrapped so that nothing over ``max_bytes`` is allocated, and
    ``_codecs.encode`` accepts only the latin-1 codec that Python-3-written protocol-2 pickles use.
    """

    def __init__(
        self, file, *, source: str = "<stream>", encoding: str = "latin1", max_bytes: int = MIN_ALLOCATION_BYTES
    ) -> None:
        super().__init__(file, fix_imports=True, encoding=encoding, errors="strict")
        self.source = source
        self.max_bytes = max_bytes

    def find_class(self, module: str, name: str) -> Any:
        if name not in ALLOWED_GLOBALS.get(module, ()):
            raise UnsafePickleError(
                f"{self.source}: refusing to load global {module}.{name}: only numpy arrays, numpy scalars and plain "
                "containers are allowed (the file may be malicious, or it is not a release this converter reads)."
            )
        if module in _NUMPY_CORE:
            module = _numpy_core_module(module)
        elif module == "__builtin__":
            module = "builtins"
        target = super().find_class(module, name)
        guard = self._guards().get(name)
        return target if guard is None else guard(target)

    def _refuse(self, what: str, size: float) -> None:
        if size > self.max_bytes:
            raise PickleBombError(
                f"{self.source}: the pickle asks for {what} of about {size / 2**20:,.0f} MiB, more than the "
                f"{self.max_bytes / 2**20:,.0f} MiB its size allows (max(256 MiB, {EXPANSION} x the file)); the file "
                "is corrupt or hostile. Pass max_bytes= to load_pickle if you trust it."
            )

    def _guards(self) -> dict[str, Any]:
        def sized(target):
            def call(*args):
                if args and isinstance(args[0], int):
                    self._refuse(f"{target.__name__}({args[0]})", args[0])
                if args and isinstance(args[0], range):
                    self._refuse(f"{target.__name__}(range)", 8.0 * len(args[0]))
                return target(*args)

            return call

        def ranged(target):
            def call(*args):
                span = target(*args)
                self._refuse("a range", 8.0 * len(span))
                return span

            return call

        def reconstruct(target):
            def call(subtype, shape, dtype, *rest):
                import numpy as np

                count = float(np.prod([int(n) for n in np.atleast_1d(shape)], dtype=np.float64))
                self._refuse(f"an array of shape {tuple(np.atleast_1d(shape))}", count * 8.0)
                return target(subtype, shape, dtype, *rest)

            return call

        def encode(target):
            def call(obj, encoding="utf-8", *rest):
                if str(encoding).lower().replace("_", "-") not in ("latin1", "latin-1", "iso-8859-1"):
                    raise CorruptPickleError(
                        f"{self.source}: the pickle encodes bytes with the codec {encoding!r}; releases use latin-1 "
                        "only. The file is corrupt or hostile."
                    )
                return target(obj, encoding, *rest)

            return call

        wrappers = {name: sized for name in ("bytearray", "list", "tuple", "set", "frozenset")}
        return {**wrappers, "range": ranged, "_reconstruct": reconstruct, "encode": encode}


def load_pickle(path: str | os.PathLike, encoding: str = "latin1", max_bytes: int | None = None) -> Any:
    """Unpickle ``path`` with :class:`RestrictedUnpickler`.

    Raises ``FileNotFoundError`` for a missing file, :class:`UnsafePickleError` for a disallowed global,
    :class:`PickleBombError` when the file asks to allocate more than ``max_bytes`` (default: ``max(256 MiB,
    64 x the file size)``) and :class:`CorruptPickleError` for a truncated or malformed file (or an unknown codec,
    or an allocation the machine cannot make); each message names the file.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file.")
    limit = max_bytes if max_bytes is not None else max(MIN_ALLOCATION_BYTES, EXPANSION * path.stat().st_size)
    with open(path, "rb") as handle:
        try:
            return RestrictedUnpickler(handle, source=str(path), encoding=encoding, max_bytes=limit).load()
        except (UnsafePickleError, PickleBombError, CorruptPickleError):
            raise
        except MemoryError as error:
            raise PickleBombError(
                f"{path}: the pickle asks for more memory than this machine has; the file is corrupt or hostile."
            ) from error
        except (
            pickle.UnpicklingError,
            EOFError,
            ValueError,
            TypeError,
            KeyError,
            IndexError,
            AttributeError,
            OverflowError,
            LookupError,
        ) as error:
            raise CorruptPickleError(
                f"{path}: not a readable pickle ({type(error).__name__}: {error}); the file is truncated or corrupt, "
                "download it again."
            ) from error


# ----------------------------------------------------------------------------------------------------------------
# Writing pickles the way Python 2 did (test fixtures)
# ----------------------------------------------------------------------------------------------------------------


class _LegacyPickler(pickle._Pickler):  # the pure-Python pickler: its dispatch table can be extended
    dispatch = dict(pickle._Pickler.dispatch)

    def _save_py2_str(self, obj: str | bytes, data: bytes) -> None:
        if len(data) < 256:
            self.write(pickle.SHORT_BINSTRING + struct.pack("<B", len(data)) + data)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(data)) + data)
        self.memoize(obj)

    def save_bytes(self, obj: bytes) -> None:
        self._save_py2_str(obj, obj)

    def save_str(self, obj: str) -> None:
        try:
            data = obj.encode("latin1")
        except UnicodeEncodeError:
            pickle._Pickler.save_str(self, obj)
            return
        self._save_py2_str(obj, data)

    dispatch[bytes] = save_bytes
    dispatch[str] = save_str

    def save_global(self, obj, name=None) -> None:
        module = getattr(obj, "__module__", None)
        if module and module.startswith("numpy._core."):
            self.write(pickle.GLOBAL + f"numpy.core.{module[len('numpy._core.') :]}\n{obj.__name__}\n".encode())
            self.memoize(obj)
            return
        super().save_global(obj, name)

    dispatch[type(len)] = save_global  # builtin functions such as numpy's _reconstruct


def dump_legacy_pickle(obj: Any, path: str | os.PathLike) -> None:
    """Write ``obj`` as Python 2 would have: protocol 2, every latin1-encodable ``str`` / ``bytes`` as a Python-2
    ``str`` (``BINSTRING``) and numpy functions under ``numpy.core``. Such a file only loads with
    ``encoding="latin1"`` (or ``"bytes"``), like the published WESAD and PPG-DaLiA pickles."""
    buffer = io.BytesIO()
    _LegacyPickler(buffer, protocol=2).dump(obj)
    Path(path).write_bytes(buffer.getvalue())
