"""normwear-hf zero-shot: files -> ranked labels (printed and JSON), bad input exits 2 with one clear line."""

import json
import re

import numpy as np
import pytest
import torch
from conftest import micro_config
from transformers import pipeline

from normwear_hf import NormWearFeatureExtractor, NormWearForZeroShotClassification, NormWearModel
from normwear_hf.cli import PASS_THROUGH, main
from normwear_hf.zero_shot import SentenceEncoder

LABELS = ["resting", "walking", "running"]
RANK_LINE = re.compile(r"^  (\d+)\. (.+?)\s+(\d\.\d{3})$")


def make_zero_shot_folder(folder, seed: int = 0):
    """An untrained tiny zero-shot checkpoint (MSiTF aggregator) with its feature extractor."""
    torch.manual_seed(seed)
    NormWearForZeroShotClassification(micro_config(zero_shot_aggregator="msitf")).save_pretrained(folder)
    NormWearFeatureExtractor().save_pretrained(folder)
    return folder


def make_backbone_folder(folder, seed: int = 0):
    torch.manual_seed(seed)
    NormWearModel(micro_config()).save_pretrained(folder)
    NormWearFeatureExtractor().save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def zero_shot_folder(tmp_path_factory):
    return make_zero_shot_folder(tmp_path_factory.mktemp("models") / "zero_shot")


@pytest.fixture(scope="module")
def backbone_folder(tmp_path_factory):
    return make_backbone_folder(tmp_path_factory.mktemp("models") / "backbone")


def _signals(channels: int, seconds: float, rate: float, seed: int = 0) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    rng = np.random.default_rng(seed)
    return np.stack([np.sin(2 * np.pi * (1 + c) * t) + 0.1 * rng.standard_normal(t.size) for c in range(channels)])


def _rankings(printed: str) -> dict[str, list[tuple[str, float]]]:
    """File header line -> [(label, score), ...] as printed."""
    rankings, current = {}, None
    for line in printed.splitlines():
        match = RANK_LINE.match(line)
        if match:
            assert int(match.group(1)) == len(rankings[current]) + 1
            rankings[current].append((match.group(2), float(match.group(3))))
        elif line.endswith("):"):
            current = line.split(" (")[0]
            rankings[current] = []
    return rankings


def _error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


def test_ranks_labels_prints_and_writes_json(tmp_path, zero_shot_folder, capsys):
    np.savez(tmp_path / "wrist.npz", signals=_signals(2, 8, 64), sampling_rate=64, channel_types=["ppg", "acc"])
    np.save(tmp_path / "acc.npy", _signals(1, 5, 32, seed=1))
    out = tmp_path / "results" / "zero_shot.json"
    question = "What activity is the person doing?"
    code = main(
        [
            "zero-shot",
            str(tmp_path / "wrist.npz"),
            str(tmp_path / "acc.npy"),
            "--labels",
            " resting, walking ,running",
            "--question",
            question,
            "--template",
            "The person is {}.",
            "--model",
            str(zero_shot_folder),
            "--sampling-rate",
            "64",
            "--json",
            str(out),
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    rankings = _rankings(printed)
    assert sorted(rankings) == sorted(str(tmp_path / name) for name in ("acc.npy", "wrist.npz"))
    for ranking in rankings.values():
        scores = [score for _, score in ranking]
        assert sorted(label for label, _ in ranking) == sorted(LABELS)
        assert scores == sorted(scores, reverse=True) and sum(scores) == pytest.approx(1.0, abs=2e-3)
    assert re.search(r"classified 2 files in [\d.]+ s -> .*zero_shot\.json", printed)

    document = json.loads(out.read_text())
    assert document["candidate_labels"] == LABELS
    assert document["hypothesis_template"] == "The person is {}." and document["question"] == question
    assert document["model"] == str(zero_shot_folder)
    assert [result["file"] for result in document["results"]] == [
        str(tmp_path / "wrist.npz"),
        str(tmp_path / "acc.npy"),
    ]
    for result in document["results"]:
        scores = [entry["score"] for entry in result["ranking"]]
        assert scores == sorted(scores, reverse=True) and sum(scores) == pytest.approx(1.0, abs=1e-5)
        assert result["top_label"] == result["ranking"][0]["label"]
        assert result["sampling_rate"] == [64.0] * len(result["channel_types"])
    assert document["results"][0]["channel_types"] == ["ppg", "acc"]

    # the same numbers as the library's pipeline on the same recording
    clf = pipeline("zero-shot-physio-classification", model=str(zero_shot_folder), text_encoder=SentenceEncoder())
    expected = clf(
        {"signal": _signals(2, 8, 64).astype(np.float32), "sampling_rate": [64, 64], "channel_types": ["ppg", "acc"]},
        candidate_labels=LABELS,
        hypothesis_template="The person is {}.",
        question=question,
    )
    got = document["results"][0]["ranking"]
    assert [entry["label"] for entry in got] == [entry["label"] for entry in expected]
    np.testing.assert_allclose([e["score"] for e in got], [e["score"] for e in expected], rtol=1e-4, atol=1e-6)


def test_channel_types_flag_and_default_question(tmp_path, zero_shot_folder, capsys):
    np.save(tmp_path / "x.npy", _signals(2, 4, 100))
    code = main(
        [
            "zero-shot",
            str(tmp_path / "x.npy"),
            "--labels",
            "a clean signal,a noisy signal",
            "--model",
            str(zero_shot_folder),
            "--sampling-rate",
            "100,50",
            "--channel-types",
            "ecg,ppg",
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "question 'What does this physiological signal show?'" in printed  # the config's default question
    assert "(4.0 s; ecg 100 Hz, ppg 50 Hz):" in printed  # 400 samples per channel: 4 s at 100 Hz, 8 s at 50 Hz
    assert len(next(iter(_rankings(printed).values()))) == 2


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--labels", "resting"], r"--labels 'resting': .*at least two candidate labels"),
        (["--labels", "a,,b"], r"--labels 'a,,b': .*empty label"),
        (["--labels", "Run,run"], r"--labels 'Run,run': .*duplicates"),
        ([], r"--labels is required"),
        (["--labels", "a,b", "--template", "no slot"], r"--template 'no slot': .*must contain '\{\}'"),
        (["--labels", "a,b", "--json", "out.txt"], r"--json out\.txt: the output must end in \.json"),
    ],
)
def test_bad_labels_and_flags_exit_2(tmp_path, zero_shot_folder, flags, message, capsys):
    np.save(tmp_path / "x.npy", _signals(1, 2, 50))
    code = main(
        ["zero-shot", str(tmp_path / "x.npy"), "--sampling-rate", "50", "--model", str(zero_shot_folder)] + flags
    )
    assert code == 2
    line = _error_line(capsys)
    assert line.startswith("normwear-hf zero-shot: error: ") and re.search(message, line), line


def test_missing_rate_and_model_without_aggregator_exit_2(tmp_path, zero_shot_folder, backbone_folder, capsys):
    np.save(tmp_path / "x.npy", _signals(1, 2, 50))
    assert main(["zero-shot", str(tmp_path / "x.npy"), "--labels", "a,b", "--model", str(zero_shot_folder)]) == 2
    line = _error_line(capsys)
    assert (
        line.startswith("normwear-hf zero-shot: error: ") and "carries no sampling rate; pass --sampling-rate" in line
    )
    np.savez(tmp_path / "norate.npz", signals=_signals(1, 2, 50))
    assert main(["zero-shot", str(tmp_path / "norate.npz"), "--labels", "a,b", "--model", str(zero_shot_folder)]) == 2
    assert "holds no 'sampling_rate' entry; pass --sampling-rate" in _error_line(capsys)

    code = main(
        [
            "zero-shot",
            str(tmp_path / "x.npy"),
            "--labels",
            "a,b",
            "--sampling-rate",
            "50",
            "--model",
            str(backbone_folder),
        ]
    )
    assert code == 2
    line = _error_line(capsys)
    assert "holds a NormWearModel without a zero-shot aggregator" in line
    assert "needs a zero-shot checkpoint" in line


def test_help_lists_zero_shot_and_train_zero_shot(capsys):
    assert PASS_THROUGH["train-zero-shot"][0] == "normwear_hf.zero_shot.train"
    with pytest.raises(SystemExit) as exit_:
        main(["zero-shot", "--help"])
    assert exit_.value.code == 0
    printed = capsys.readouterr().out
    assert printed.startswith("usage: normwear-hf zero-shot")
    assert all(flag in printed for flag in ("--labels", "--template", "--question", "--json", "--channel-types"))
    with pytest.raises(SystemExit):
        main(["--help"])
    printed = capsys.readouterr().out
    assert "zero-shot" in printed and "train-zero-shot" in printed
    with pytest.raises(SystemExit) as exit_:
        main(["train-zero-shot", "--help"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.startswith("usage: normwear-hf train-zero-shot")
