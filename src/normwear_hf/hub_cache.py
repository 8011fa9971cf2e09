"""The bundled checkpoint under its name, ``"normwear"``, in the standard Hugging Face cache.

Why: users type ``AutoModel.from_pretrained("normwear")`` -- a Hub name, not a path -- and transformers looks
names up in huggingface_hub's cache (``$HF_HUB_CACHE``, by default ``$HF_HOME/hub``). So the package places its
bundled checkpoint there, exactly as a download would have left it, and every transformers entry point
(``AutoModel``, ``AutoFeatureExtractor``, the model classes, ``pipeline``) finds it offline; so does a later
process that never imports normwear_hf (``trust_remote_code=True``): the snapshot is what
:func:`~normwear_hf.checkpoint.export_checkpoint` writes, code files and ``auto_map`` included.

When: on ``import normwear_hf`` (:func:`place_on_import`; ``NORMWEAR_NO_HF_CACHE=1`` opts out) and with
``normwear-hf install-cache`` (:func:`install_cache`). A current snapshot costs the import a few ``stat`` calls.

Layout, under ``$HF_HUB_CACHE/models--normwear/`` (only there: no other repository and nothing outside the cache
is ever written)::

    snapshots/<revision>/<file> -> ../../blobs/<sha256>   one snapshot per package version
    blobs/<sha256>                 hard links to the package's own files where possible, else the exported copy
    refs/main                      the current revision (a newer package version's snapshot is never replaced by
                                   an older one's)
    .no_exist/<revision>/<file>    optional files transformers probes for, recorded as absent (as a download
                                   records a 404), so that no lookup waits for the unreachable Hub
    .normwear_hf/<stamp>.json      which revision the installed files produce, keyed by their sizes and times

``<revision>`` is 40 hex digits (transformers keys remote code by it): a hash of the package version and of the
exported files' contents, so an edited checkpoint or modeling file (editable install) gets a new snapshot. Other
snapshots of the same version are then removed. A snapshot is built in a temporary folder inside the cache and
renamed into place; ``refs/main`` and the stamps are written to a temporary file and ``os.replace``-d: two processes
racing both succeed and leave one valid snapshot. Blobs are never symlinks out of the cache, because
``hf cache delete`` deletes what a snapshot's links resolve to; where hard links are impossible (another
filesystem) the blob is a copy.

Resolving ``"normwear"`` with ``HF_HUB_OFFLINE`` unset: transformers asks the Hub once per call which commit
``main`` is, and only then serves files from the cache. When the Hub is unreachable that costs a connection
attempt (a timeout on a network that drops packets); when it is reachable it answers "repository not found", and
lookups of optional files then fail instead of using the cache. So, in a process that imported normwear_hf,
``HfApi.resolve_revision("normwear")`` answers with this package's snapshot without asking the Hub (a local folder
named ``normwear`` still wins: transformers checks local paths first and never asks).
"""

from __future__ import annotations

import contextlib
import filecmp
import functools
import hashlib
import json
import os
import re
import shutil
import time
import uuid
import warnings
from dataclasses import dataclass
from pathlib import Path

from .checkpoint import DEFAULT_CHECKPOINT, DEFAULT_MODEL_NAME
from .utils.atomic import write_text_atomic

REPO_ID = DEFAULT_MODEL_NAME
"""The Hub-style name the bundled checkpoint is cached under."""
OPT_OUT_ENV = "NORMWEAR_NO_HF_CACHE"
"""Set to 1 to keep ``import normwear_hf`` from placing (or resolving) the cached snapshot."""
REPO_FOLDER = f"models--{REPO_ID}"
_META = ".normwear_hf"  # stamps and temporary folders, beside snapshots/ (huggingface_hub ignores it)
_LAYOUT = 1  # bump when the placement changes, so that existing stamps are recomputed
# Files transformers probes for and tolerates missing; recorded as absent in .no_exist/<revision>/.
_OPTIONAL_FILES = (
    "processor_config.json",
    "video_preprocessor_config.json",
    "image_processor_config.json",
    "tokenizer_config.json",
    "generation_config.json",
    "adapter_config.json",
    "chat_template.json",
    "chat_template.jinja",
    "custom_generate/generate.py",
    "model.safetensors.index.json",
)
_STALE_SECONDS = 3600  # temporary folders older than this were left by a crashed process
_HEX40 = re.compile(r"^[0-9a-f]{40}$")
_PACKAGE = Path(__file__).resolve().parent

__all__ = ["OPT_OUT_ENV", "REPO_ID", "CachedSnapshot", "cached_snapshot", "hub_cache_dir", "install_cache"]


@dataclass(frozen=True)
class CachedSnapshot:
    """Where the bundled checkpoint sits in the Hugging Face cache."""

    path: Path  # snapshots/<revision>
    revision: str
    is_main: bool  # refs/main names it (False: a newer normwear-hf placed its own)
    created: bool  # this call built the snapshot
    linked: bool  # the weights share the package's file (hard link) rather than a copy


def hub_cache_dir() -> Path:
    """The huggingface_hub cache in use: ``$HF_HUB_CACHE``, else ``$HF_HOME/hub`` (read when huggingface_hub is
    imported, as transformers reads it)."""
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE).expanduser()


def _opted_out() -> bool:
    return os.environ.get(OPT_OUT_ENV, "").strip().lower() not in ("", "0", "false", "no", "off")


def _version() -> str:
    from ._version import __version__  # read at each call: tests stand in other versions

    return __version__


def _stamp_key(version: str) -> str:
    """A cheap fingerprint of what an export would produce: versions and the sizes / times of the source files."""
    import transformers

    entries = []
    for folder in (Path(DEFAULT_CHECKPOINT), _PACKAGE):
        with os.scandir(folder) as scan:
            for entry in scan:
                if entry.is_file() and (folder != _PACKAGE or entry.name.endswith(".py")):
                    stat = entry.stat()
                    entries.append((str(folder), entry.name, stat.st_size, stat.st_mtime_ns))
    key = json.dumps([_LAYOUT, version, transformers.__version__, sorted(entries)])
    return hashlib.sha1(key.encode()).hexdigest()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _complete(snapshot: Path, files: list[str]) -> bool:
    """Every expected file is there and readable through its links (a dangling link is not there)."""
    return bool(files) and all(os.path.isfile(snapshot / name) for name in files)


def _read_json(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _read_stamp(repo: Path, key: str) -> dict | None:
    stamp = _read_json(repo / _META / f"{key}.json")
    if stamp is None or not _HEX40.match(str(stamp.get("revision", ""))) or not isinstance(stamp.get("files"), list):
        return None
    return stamp


def _versions_of(repo: Path) -> dict[str, set[str]]:
    """revision -> the package versions whose stamps name it."""
    versions: dict[str, set[str]] = {}
    for path in (repo / _META).glob("*.json"):
        stamp = _read_json(path)
        if stamp and isinstance(stamp.get("revision"), str):
            versions.setdefault(stamp["revision"], set()).add(str(stamp.get("version")))
    return versions


def _is_newer(other: str, mine: str) -> bool:
    from packaging.version import InvalidVersion, Version

    try:
        return Version(other) > Version(mine)
    except InvalidVersion:
        return False


def _point_main(repo: Path, revision: str, version: str) -> bool:
    """Make refs/main name ``revision`` unless it names a newer normwear-hf's snapshot; True if it names ours."""
    main = repo / "refs" / "main"
    try:
        current = main.read_text().strip()
    except OSError:
        current = ""
    if current == revision:
        return True
    if current and (repo / "snapshots" / current).is_dir():
        if any(_is_newer(other, version) for other in _versions_of(repo).get(current, ())):
            return False
    write_text_atomic(main, revision, scratch=repo / _META)
    return True


def _remove_folder(folder: Path, scratch: Path) -> None:
    """Rename ``folder`` out of the way first (so that nobody sees it half deleted), then delete it."""
    if not folder.exists():
        return
    retired = scratch / f"old-{uuid.uuid4().hex}"
    try:
        os.replace(folder, retired)
    except OSError:
        return
    shutil.rmtree(retired, ignore_errors=True)


def _clean_stale(scratch: Path) -> None:
    if not scratch.is_dir():
        return
    now = time.time()
    for path in scratch.iterdir():
        if path.suffix == ".json":
            continue
        try:
            if now - path.lstat().st_mtime > _STALE_SECONDS:
                shutil.rmtree(path) if path.is_dir() and not path.is_symlink() else path.unlink()
        except OSError:
            pass


def _identical_source(name: str, staged: Path) -> Path | None:
    """The package's own file with the same name and bytes as ``staged`` (what a hard link can share)."""
    for folder in (Path(DEFAULT_CHECKPOINT), _PACKAGE):
        source = folder / name
        if source.is_file() and source.stat().st_size == staged.stat().st_size:
            if filecmp.cmp(source, staged, shallow=False):
                return source
    return None


def _into_blobs(staging: Path, repo: Path) -> tuple[dict[str, str], bool]:
    """Move every staged file into blobs/<sha256> (a hard link to the package's identical file where possible) and
    leave a relative symlink to it in its place (a hard link, else a copy, where symlinks are unavailable)."""
    blobs = repo / "blobs"
    blobs.mkdir(parents=True, exist_ok=True)
    digests, weights_linked = {}, False
    for staged in sorted(staging.iterdir()):
        if not staged.is_file() or staged.is_symlink():
            continue
        digest = digests[staged.name] = _sha256(staged)
        blob = blobs / digest
        source = _identical_source(staged.name, staged)
        if not blob.is_file():
            incoming = blobs / f"{digest}.{uuid.uuid4().hex[:8]}.incomplete"
            try:
                if source is None:
                    raise OSError("no identical package file")
                os.link(source, incoming)
            except OSError:
                os.replace(staged, incoming)
                os.chmod(incoming, 0o644)  # save_pretrained writes weights 0o600; a shared cache must be readable
            os.replace(incoming, blob)
        if staged.name.endswith(".safetensors") and source is not None:
            weights_linked = os.path.samefile(blob, source)
        staged.unlink(missing_ok=True)
        try:
            os.symlink(f"../../blobs/{digest}", staged)
        except (OSError, NotImplementedError):
            try:
                os.link(blob, staged)
            except OSError:
                shutil.copyfile(blob, staged)
    return digests, weights_linked


def _prune(repo: Path, keep: str, version: str) -> None:
    """Remove this version's other snapshots (an edited editable install) and the blobs nothing uses any more."""
    snapshots, scratch = repo / "snapshots", repo / _META
    try:
        main = (repo / "refs" / "main").read_text().strip()
    except OSError:
        main = ""
    versions = _versions_of(repo)
    candidates = set()  # the blobs of removed snapshots: only these may have become unused
    for snapshot in snapshots.iterdir():
        if snapshot.name in (keep, main) or versions.get(snapshot.name) != {version}:
            continue
        candidates |= {os.path.realpath(entry) for entry in snapshot.iterdir()}
        _remove_folder(snapshot, scratch)
        _remove_folder(repo / ".no_exist" / snapshot.name, scratch)
        for path in scratch.glob("*.json"):
            if (_read_json(path) or {}).get("revision") == snapshot.name:
                path.unlink(missing_ok=True)
    if not candidates:
        return
    used = {
        os.path.realpath(entry) for snapshot in snapshots.iterdir() if snapshot.is_dir() for entry in snapshot.iterdir()
    }
    blobs = os.path.realpath(repo / "blobs")
    for blob in candidates - used:
        if os.path.dirname(blob) == blobs:
            Path(blob).unlink(missing_ok=True)


def _place(repo: Path, key: str, version: str) -> CachedSnapshot:
    """Export the bundled checkpoint into the cache (the slow path: a fraction of a second)."""
    from .checkpoint import export_checkpoint, no_progress_bars

    scratch = repo / _META
    scratch.mkdir(parents=True, exist_ok=True)
    _clean_stale(scratch)
    staging = scratch / f"build-{uuid.uuid4().hex}"  # as deep as snapshots/<revision>: the relative links hold
    try:
        with no_progress_bars():
            export_checkpoint(DEFAULT_CHECKPOINT, staging)
        files = sorted(path.name for path in staging.iterdir() if path.is_file())
        contents = sorted((name, _sha256(staging / name)) for name in files)
        revision = hashlib.sha1(json.dumps(["normwear-hf", version, contents]).encode()).hexdigest()
        snapshot = repo / "snapshots" / revision
        created, linked = False, False
        if not _complete(snapshot, files):
            _, linked = _into_blobs(staging, repo)
            snapshot.parent.mkdir(parents=True, exist_ok=True)
            if snapshot.exists() and not _complete(snapshot, files):  # damaged (a file deleted, a dangling link)
                _remove_folder(snapshot, scratch)
            try:
                os.rename(staging, snapshot)
                created = True
            except OSError:
                if not _complete(snapshot, files):  # not another process's finished copy: a real failure
                    raise
        else:
            weights = snapshot / "model.safetensors"
            source = Path(DEFAULT_CHECKPOINT) / "model.safetensors"
            linked = weights.is_file() and source.is_file() and os.path.samefile(weights, source)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    absent = repo / ".no_exist" / revision
    for name in _OPTIONAL_FILES:
        if name not in files:
            (absent / name).parent.mkdir(parents=True, exist_ok=True)
            (absent / name).touch()
    stamp = {"revision": revision, "version": version, "files": files, "source": DEFAULT_CHECKPOINT}
    write_text_atomic(scratch / f"{key}.json", json.dumps(stamp, indent=1), scratch=scratch)
    is_main = _point_main(repo, revision, version)
    with contextlib.suppress(OSError):  # best effort: another process may be pruning too
        _prune(repo, revision, version)
    return CachedSnapshot(snapshot, revision, is_main, created, linked)


def install_cache(cache_dir: str | os.PathLike | None = None) -> CachedSnapshot:
    """Place (or confirm) the bundled checkpoint as ``"normwear"`` in the Hugging Face cache; idempotent.

    ``cache_dir`` defaults to :func:`hub_cache_dir`. A current snapshot is confirmed with a few ``stat`` calls;
    otherwise the checkpoint is exported into the cache. ``OSError`` if the cache cannot be written.
    """
    repo = (Path(cache_dir).expanduser() if cache_dir is not None else hub_cache_dir()) / REPO_FOLDER
    version = _version()
    key = _stamp_key(version)
    stamp = _read_stamp(repo, key)
    if stamp is not None and stamp.get("version") == version:
        snapshot = repo / "snapshots" / stamp["revision"]
        if _complete(snapshot, stamp["files"]):
            _LOCAL_REVISIONS[os.path.realpath(repo.parent)] = stamp["revision"]
            is_main = _point_main(repo, stamp["revision"], version)  # may fail in a read-only cache
            weights = snapshot / "model.safetensors"
            linked = weights.is_file() and os.path.samefile(weights, Path(DEFAULT_CHECKPOINT) / "model.safetensors")
            return CachedSnapshot(snapshot, stamp["revision"], is_main, False, linked)
    result = _place(repo, key, version)
    _LOCAL_REVISIONS[os.path.realpath(repo.parent)] = result.revision
    return result


def cached_snapshot(cache_dir: str | os.PathLike | None = None) -> Path | None:
    """This package's snapshot folder in the cache if it is there and complete, else ``None``; writes nothing."""
    repo = (Path(cache_dir).expanduser() if cache_dir is not None else hub_cache_dir()) / REPO_FOLDER
    version = _version()
    stamp = _read_stamp(repo, _stamp_key(version))
    if stamp is None or stamp.get("version") != version:
        return None
    snapshot = repo / "snapshots" / stamp["revision"]
    return snapshot if _complete(snapshot, stamp["files"]) else None


def place_on_import() -> None:
    """What ``import normwear_hf`` does: :func:`install_cache` unless opted out, then resolve ``"normwear"``
    locally. Never raises: a cache that cannot be written (read-only, full) gets one warning."""
    if _opted_out():
        return
    try:
        install_cache()
    except Exception as error:  # an import must not fail because of the cache
        warnings.warn(
            f"normwear-hf could not place its bundled checkpoint in the Hugging Face cache "
            f"({hub_cache_dir() / REPO_FOLDER}): {type(error).__name__}: {error}. "
            f'AutoModel.from_pretrained("{REPO_ID}") will not find it there: make HF_HOME / HF_HUB_CACHE a writable '
            f"folder and run `normwear-hf install-cache`, or pass normwear_hf.DEFAULT_CHECKPOINT (a local folder). "
            f"Set {OPT_OUT_ENV}=1 to skip this step.",
            stacklevel=2,
        )
    _resolve_locally()  # still useful where only refs/main could not be updated


# ---------------------------------------------------------------------------------------------------------------
# "normwear" without asking the Hub (only in processes that imported normwear_hf)
# ---------------------------------------------------------------------------------------------------------------

_LOCAL_REVISIONS: dict[str, str] = {}  # real path of a hub cache -> the revision this process placed there


def _local_revision(repo_id: str, repo_type: str | None, revision: str | None, cache_dir) -> str | None:
    if repo_id != REPO_ID or repo_type not in (None, "model") or revision not in (None, "main"):
        return None
    cache = os.path.realpath(Path(cache_dir).expanduser() if cache_dir is not None else hub_cache_dir())
    local = _LOCAL_REVISIONS.get(cache)
    if local is None or not os.path.isfile(os.path.join(cache, REPO_FOLDER, "snapshots", local, "config.json")):
        return None
    return local


def _resolve_locally() -> None:
    """Wrap ``HfApi.resolve_revision`` (which transformers calls once per load) so that ``"normwear"`` at ``main``
    resolves to this package's snapshot with no network call; every other repository goes to the Hub as before."""
    try:
        from huggingface_hub import HfApi, ResolvedRevision
    except ImportError:  # an older huggingface_hub: transformers does not resolve revisions first either
        return
    original = getattr(HfApi, "resolve_revision", None)
    if original is None or getattr(original, "_normwear_local", False):
        return

    @functools.wraps(original)
    def resolve_revision(self, repo_id, *args, **kwargs):
        if not args and not isinstance(kwargs.get("revision"), ResolvedRevision):
            try:
                local = _local_revision(
                    repo_id, kwargs.get("repo_type"), kwargs.get("revision"), kwargs.get("cache_dir")
                )
            except Exception:
                local = None
            if local is not None:
                return ResolvedRevision(
                    resolved=local, initial=kwargs.get("revision"), repo_id=repo_id, repo_type="model"
                )
        return original(self, repo_id, *args, **kwargs)

    resolve_revision._normwear_local = True
    HfApi.resolve_revision = resolve_revision
