"""The bundled checkpoint as "normwear" in the Hugging Face cache (hub_cache.py): layout, idempotence, upgrades,
other repositories untouched, read-only caches, the opt-out, local folders winning, and -- in fresh processes with
no network and HF_HUB_OFFLINE unset -- every documented call, two racing first imports and a later process that
never imports the package."""

import hashlib
import json
import os
import re
import socket
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
import torch
from conftest import micro_config
from huggingface_hub import HfApi, constants

from normwear_hf import NormWearModel, cli, hub_cache
from normwear_hf.checkpoint import DEFAULT_CHECKPOINT

REPO = Path(__file__).resolve().parents[1]
CODE_FILES = {
    "configuration_normwear.py",
    "modeling_normwear.py",
    "feature_extraction_normwear.py",
    "signal_processing.py",
    "rhythm_features.py",
}
ZERO_SHOT_CODE_FILES = {
    "modeling_normwear_zero_shot.py",
    "pipeline_normwear_zero_shot.py",
    "text_encoder_normwear.py",
    "zero_shot_labels_normwear.py",
}


def tree(root: Path) -> dict[str, tuple]:
    """Every path under ``root`` with what it is: a link's target, a file's bytes and mtime."""
    listing = {}
    for path in sorted(root.rglob("*")):
        key = str(path.relative_to(root))
        if path.is_symlink():
            listing[key] = ("link", os.readlink(path))
        elif path.is_file():
            listing[key] = ("file", path.read_bytes(), path.stat().st_mtime_ns)
        else:
            listing[key] = ("dir",)
    return listing


@pytest.fixture
def hub(tmp_path, monkeypatch):
    """A fresh, empty hub cache that huggingface_hub and transformers use for this test."""
    cache = tmp_path / "hf" / "hub"
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(HfApi, "resolve_revision", HfApi.resolve_revision)  # undo the local resolution afterwards
    return cache


def test_layout_links_and_idempotence(hub, monkeypatch):
    placed = hub_cache.install_cache()
    repo = hub / "models--normwear"
    assert placed.created and placed.is_main and re.fullmatch(r"[0-9a-f]{40}", placed.revision)
    assert placed.path == repo / "snapshots" / placed.revision
    assert (repo / "refs" / "main").read_text() == placed.revision
    assert sorted(path.name for path in hub.iterdir()) == ["models--normwear"]  # nothing else is written
    files = {path.name for path in placed.path.iterdir()}
    assert {"config.json", "model.safetensors", "preprocessor_config.json", "README.md", *CODE_FILES} <= files
    assert {path for path in files if path.endswith(".py")} == CODE_FILES | ZERO_SHOT_CODE_FILES  # a zero-shot model
    assert {path.name for path in Path(DEFAULT_CHECKPOINT).iterdir() if path.suffix in (".json", ".png")} <= files
    for path in placed.path.iterdir():  # huggingface_hub's own layout: a relative link to blobs/<sha256>
        assert path.is_symlink() and os.readlink(path).startswith("../../blobs/")
        assert Path(os.readlink(path)).name == hashlib.sha256(path.read_bytes()).hexdigest()
    weights = placed.path / "model.safetensors"
    assert weights.read_bytes() == (Path(DEFAULT_CHECKPOINT) / "model.safetensors").read_bytes()
    assert placed.linked == os.path.samefile(weights, Path(DEFAULT_CHECKPOINT) / "model.safetensors")
    config = json.loads((placed.path / "config.json").read_text())
    assert config["auto_map"]["AutoModel"] == "modeling_normwear.NormWearModel"
    preprocessor = json.loads((placed.path / "preprocessor_config.json").read_text())
    assert preprocessor["auto_map"]["AutoFeatureExtractor"].endswith("NormWearFeatureExtractor")
    assert (repo / ".no_exist" / placed.revision / "processor_config.json").is_file()
    assert not [path for path in (repo / ".normwear_hf").iterdir() if path.suffix != ".json"]  # no staging left

    before = tree(hub)

    def no_export(*args, **kwargs):
        raise AssertionError("a current snapshot was exported again")

    monkeypatch.setattr(hub_cache, "_place", no_export)  # a current snapshot is confirmed by stat calls alone
    again = hub_cache.install_cache()
    assert (again.path, again.revision, again.created) == (placed.path, placed.revision, False)
    assert tree(hub) == before
    assert hub_cache.cached_snapshot() == placed.path


def test_upgrade_keeps_one_snapshot_per_version_and_never_downgrades_main(hub, monkeypatch):
    first = hub_cache.install_cache()
    monkeypatch.setattr("normwear_hf._version.__version__", "99.0.0")
    newer = hub_cache.install_cache()
    repo = hub / "models--normwear"
    assert newer.revision != first.revision and newer.is_main
    assert (repo / "refs" / "main").read_text() == newer.revision
    assert first.path.is_dir()  # the older version's snapshot stays, refs/main moved on

    monkeypatch.setattr("normwear_hf._version.__version__", "0.0.1")  # an older install sharing the cache
    older = hub_cache.install_cache()
    assert not older.is_main and (repo / "refs" / "main").read_text() == newer.revision

    # an edited checkpoint under the same version (editable install): a new snapshot replaces that version's old one
    from normwear_hf import checkpoint

    export = checkpoint.export_checkpoint

    card = "# edited card\n"

    def edited_export(source, out_dir, overwrite=False):
        out = export(source, out_dir, overwrite)
        (out / "README.md").write_text(card)
        return out

    monkeypatch.setattr("normwear_hf._version.__version__", "99.0.0")
    monkeypatch.setattr(checkpoint, "export_checkpoint", edited_export)
    monkeypatch.setattr(hub_cache, "_LAYOUT", -1)  # new stamps: the edit is seen
    edited = hub_cache.install_cache()
    assert edited.created and edited.revision not in (first.revision, newer.revision)
    assert (repo / "refs" / "main").read_text() == edited.revision
    assert (edited.path / "README.md").read_text() == "# edited card\n"
    assert sorted(path.name for path in (repo / "snapshots").iterdir()) == sorted(
        [first.revision, older.revision, edited.revision]
    )

    card = "# edited again\n"  # a second edit: the first edit's snapshot and its own blob (the card) go
    monkeypatch.setattr(hub_cache, "_LAYOUT", -2)
    again = hub_cache.install_cache()
    assert not edited.path.exists() and (again.path / "README.md").read_text() == card
    used = {os.path.realpath(path) for snapshot in (repo / "snapshots").iterdir() for path in snapshot.iterdir()}
    assert {str(blob) for blob in (repo / "blobs").iterdir()} == used  # no orphaned blobs, no dangling links
    assert str(repo / "blobs" / hashlib.sha256(b"# edited card\n").hexdigest()) not in used


def test_other_repositories_are_never_touched(hub):
    for name in ("models--someone--normwear", "models--bert-base-uncased", "datasets--normwear"):
        (hub / name / "snapshots" / ("a" * 40)).mkdir(parents=True)
        (hub / name / "snapshots" / ("a" * 40) / "config.json").write_text('{"model_type": "bert"}')
        (hub / name / "refs").mkdir()
        (hub / name / "refs" / "main").write_text("a" * 40)
    before = tree(hub)
    hub_cache.install_cache()
    after = tree(hub)
    assert {key: value for key, value in after.items() if not key.startswith("models--normwear")} == before


def test_read_only_cache_warns_and_opt_out_writes_nothing(hub, monkeypatch):
    hub.mkdir(parents=True)
    real_mkdir = os.mkdir

    def refuse(path, *args, **kwargs):  # what a read-only folder does, also for root (chmod does not stop root)
        if str(path).startswith(str(hub)):
            raise PermissionError(13, "Permission denied", str(path))
        return real_mkdir(path, *args, **kwargs)

    hub.chmod(0o555)
    monkeypatch.setattr(os, "mkdir", refuse)
    monkeypatch.delenv(hub_cache.OPT_OUT_ENV, raising=False)
    try:
        with pytest.warns(UserWarning, match=r"could not place its bundled checkpoint.*Permission denied"):
            hub_cache.place_on_import()
        assert list(hub.iterdir()) == []
        with pytest.raises(PermissionError):  # the explicit command reports the error (the CLI exits 2)
            hub_cache.install_cache()
    finally:
        hub.chmod(0o755)
    monkeypatch.setattr(os, "mkdir", real_mkdir)
    monkeypatch.setenv(hub_cache.OPT_OUT_ENV, "1")
    hub_cache.place_on_import()
    assert list(hub.iterdir()) == []


def test_names_resolve_in_process_and_a_local_folder_wins(hub, tmp_path, monkeypatch):
    from transformers import AutoFeatureExtractor, AutoModel

    monkeypatch.delenv(hub_cache.OPT_OUT_ENV, raising=False)
    hub_cache.place_on_import()
    revision = hub_cache.install_cache().revision
    monkeypatch.chdir(tmp_path)
    model = AutoModel.from_pretrained("normwear")
    assert type(model) is NormWearModel and model.config.hidden_size == 128  # the bundled tiny model
    assert HfApi().resolve_revision("normwear").resolved == revision  # resolved locally, without the Hub
    assert type(AutoFeatureExtractor.from_pretrained("normwear")).__name__ == "NormWearFeatureExtractor"

    torch.manual_seed(0)
    NormWearModel(micro_config()).save_pretrained(tmp_path / "normwear")  # ./normwear: a local path wins
    assert AutoModel.from_pretrained("normwear").config.hidden_size == 32


def test_cli_install_cache(hub, capsys, monkeypatch):
    monkeypatch.setenv(hub_cache.OPT_OUT_ENV, "1")  # the explicit command ignores the opt-out
    assert cli.main(["install-cache"]) == 0
    out = capsys.readouterr().out
    assert "'normwear' placed: " in out and str(hub) in out and 'AutoModel.from_pretrained("normwear")' in out
    assert cli.main(["install-cache"]) == 0
    assert "already in place" in capsys.readouterr().out

    def read_only(cache_dir=None):
        raise PermissionError(13, "Permission denied", str(hub))

    monkeypatch.setattr(hub_cache, "install_cache", read_only)
    assert cli.main(["install-cache"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"normwear-hf install-cache: error: {hub}: permission denied"]


# ---------------------------------------------------------------------------------------------------------------
# Fresh processes: fresh HF_HOME, HF_HUB_OFFLINE unset, no network
# ---------------------------------------------------------------------------------------------------------------

FIRST_IMPORT = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    import torch, transformers  # the slow imports happen before the barrier, so that the two imports race
    index, readme_code, out = int(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
    (out.parent / f"ready-{index}").touch()
    deadline = time.time() + 120
    while not all((out.parent / f"ready-{i}").exists() for i in (0, 1)) and time.time() < deadline:
        time.sleep(0.01)
    if index == 0:  # the README's first Python block, as written
        exec(compile(Path(readme_code).read_text(), "README.md", "exec"))
        from normwear_hf import NormWearForSignalClassification
        head = NormWearForSignalClassification.from_pretrained("normwear", num_labels=3)
        ranking = classifier(torch.randn(2, 640).numpy(), sampling_rate=64, candidate_labels=["resting", "running"])
        kinds = [type(model).__name__, type(extractor).__name__, type(classifier).__name__, type(head).__name__]
        kinds.append(sorted(entry["label"] for entry in ranking))
    else:
        import normwear_hf
        from transformers import AutoModel
        kinds = [type(AutoModel.from_pretrained("normwear")).__name__]
    out.write_text(json.dumps({"kinds": kinds}))
    """
)

WITHOUT_PACKAGE = textwrap.dedent(
    """
    import json, sys
    sys.modules["normwear_hf"] = None  # any attempt to import the package now fails
    from transformers import AutoFeatureExtractor, AutoModel
    model = AutoModel.from_pretrained("normwear", trust_remote_code=True)
    extractor = AutoFeatureExtractor.from_pretrained("normwear", trust_remote_code=True)
    loaded = sorted(name for name, module in sys.modules.items() if module is not None and "normwear_hf" in name)
    print(json.dumps({"kinds": [type(model).__name__, type(extractor).__name__, model.config.hidden_size],
                      "loaded": loaded}))
    """
)


def readme_code() -> str:
    """The first ```python block of the README: it must load "normwear" by name."""
    code = re.search(r"```python\n(.*?)```", (REPO / "README.md").read_text(), re.S).group(1)
    assert 'AutoModel.from_pretrained("normwear")' in code and "import normwear_hf" in code
    return code


class RecordingEndpoint:
    """A Hub endpoint on localhost that answers nothing: it reads each request's first line, keeps it and closes
    the connection, so a process that tries the network fails fast and the test sees what it asked (rather than
    timing the process, which load on the machine makes flaky)."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        self._server = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._server.getsockname()[1]}"
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self._server.accept()
            except OSError:  # closed
                return
            with connection:
                connection.settimeout(5)
                try:
                    self.requests.append(connection.recv(4096).split(b"\r\n", 1)[0].decode(errors="replace"))
                except OSError as error:
                    self.requests.append(f"(no request line: {error})")

    def close(self) -> None:
        self._server.close()


@pytest.fixture
def hub_endpoint():
    endpoint = RecordingEndpoint()
    yield endpoint
    endpoint.close()


def fresh_env(tmp_path: Path, endpoint: RecordingEndpoint) -> dict[str, str]:
    """HF_HOME in tmp, HF_HUB_OFFLINE unset, and a Hub endpoint that records and drops connections: no network."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_HUB_CACHE", hub_cache.OPT_OUT_ENV)
    }
    env.update(
        HF_HOME=str(tmp_path / "hf"),
        HF_ENDPOINT=endpoint.url,
        HF_HUB_DISABLE_TELEMETRY="1",
        HF_MODULES_CACHE=str(tmp_path / "modules"),
        PYTHONPATH="",
    )
    return env


def test_fresh_processes_racing_imports_and_a_process_without_the_package(tmp_path, hub_endpoint):
    env, work = fresh_env(tmp_path, hub_endpoint), tmp_path / "work"
    work.mkdir()
    (tmp_path / "readme.py").write_text(readme_code())
    (tmp_path / "first_import.py").write_text(FIRST_IMPORT)
    racers = [
        subprocess.Popen(
            [
                sys.executable,
                str(tmp_path / "first_import.py"),
                str(i),
                str(tmp_path / "readme.py"),
                str(work / f"{i}"),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=work,
        )
        for i in (0, 1)
    ]
    outputs = [racer.communicate(timeout=300) for racer in racers]
    for racer, (_, stderr) in zip(racers, outputs):
        assert racer.returncode == 0, stderr[-3000:]
        assert "Retrying in" not in stderr and "could not place" not in stderr  # no wait for the Hub, no warning
    first, second = (json.loads((work / f"{i}").read_text()) for i in (0, 1))
    assert first["kinds"] == [
        "NormWearModel",
        "NormWearFeatureExtractor",
        "ZeroShotPhysioClassificationPipeline",
        "NormWearForSignalClassification",
        ["resting", "running"],
    ]
    assert second["kinds"] == ["NormWearModel"]
    assert hub_endpoint.requests == []  # with the package imported, nothing asks the Hub

    repo = tmp_path / "hf" / "hub" / "models--normwear"
    snapshots = list((repo / "snapshots").iterdir())
    assert len(snapshots) == 1 and (repo / "refs" / "main").read_text() == snapshots[0].name
    assert all(path.is_file() for path in snapshots[0].iterdir())  # every link resolves
    assert not [path for path in (repo / ".normwear_hf").iterdir() if path.suffix != ".json"]
    assert not list((repo / "blobs").glob("*.incomplete"))
    assert sorted(path.name for path in (tmp_path / "hf" / "hub").iterdir()) == ["models--normwear"]

    # a later process that cannot import normwear_hf: remote code from the snapshot
    (tmp_path / "without_package.py").write_text(WITHOUT_PACKAGE)
    result = subprocess.run(
        [sys.executable, str(tmp_path / "without_package.py")],
        capture_output=True,
        text=True,
        env=env,
        cwd=work,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Retrying in" not in result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["kinds"] == ["NormWearModel", "NormWearFeatureExtractor", 128] and report["loaded"] == []
    # Without the package nothing can route transformers' remote-code lookup to the cache: it asks the Hub's model
    # API (refused here at once; HF_HUB_OFFLINE=1 skips it) and then loads every file from the snapshot.
    assert set(hub_endpoint.requests) <= {"GET /api/models/normwear HTTP/1.1"}
