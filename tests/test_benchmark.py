"""The one-command benchmark: every method on the same splits, results.json / results.md / plots, clear errors."""

import json

import pytest

from normwear_hf.cli import main
from normwear_hf.evaluation.benchmark import METHODS, run_benchmark, to_markdown

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_quick_benchmark_writes_results_table_and_plots(tmp_path):
    methods = ["normwear", "random_init", "statistical", "raw_linear"]
    results = run_benchmark(tasks=["ecg200", "synthetic_hr"], out_dir=tmp_path, methods=methods, quick=True)
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["quick"] is True and set(saved["tasks"]) == {"ecg200", "synthetic_hr"}
    ecg = saved["tasks"]["ecg200"]
    assert ecg["kind"] == "classification" and ecg["n_train"] == 100 and set(ecg["methods"]) == set(methods)
    for evaluation in ecg["methods"].values():
        assert evaluation["main_metric"] == "auroc"
        assert evaluation["ci"]["low"] <= evaluation["ci"]["point"] <= evaluation["ci"]["high"]
        assert 0.0 <= evaluation["full"]["auroc"] <= 1.0
    hr = saved["tasks"]["synthetic_hr"]["methods"]["statistical"]
    assert hr["main_metric"] in ("relative_accuracy", "mae") and "mae" in hr["full"]
    # the default model is the bundled pretrained checkpoint: its embeddings are not its random twin's
    assert ecg["methods"]["normwear"]["full"] != ecg["methods"]["random_init"]["full"]
    assert "DEFAULT_CHECKPOINT" in saved["model"] or "bundled" in saved["model"]
    # the bundled checkpoint has a zero-shot head: its held-out results (vs the CLAP-style baseline) are reported
    assert saved["zero_shot"]["macro_auroc"] > 0.5 and saved["zero_shot"]["held_out_tasks"]
    table = (tmp_path / "results.md").read_text()
    assert "Zero-shot on held-out tasks" in table and "CLAP-style baseline AUROC" in table
    assert table == to_markdown(results)
    assert "| ecg200 | auroc | 100 / 100 |" in table and "QUICK settings" in table
    for plot in ("task_scores.png", "few_shot.png"):
        assert (tmp_path / plot).read_bytes()[:8] == PNG_MAGIC
    assert any((tmp_path / "embedding_cache").glob("*.npy"))
    # paired differences: per task group, the macro is the mean of the tasks' points
    paired = saved["paired"]
    assert set(paired) == {"random_init", "statistical"}
    assert set(paired["random_init"]) == {"real", "synthetic"}
    real = paired["random_init"]["real"]
    full = {m: ecg["methods"][m]["full"]["auroc"] for m in ("normwear", "random_init")}
    assert real["ecg200"]["point"] == pytest.approx(full["normwear"] - full["random_init"])
    assert real["macro"]["point"] == pytest.approx(real["ecg200"]["point"])
    assert real["ecg200"]["low"] <= real["ecg200"]["point"] <= real["ecg200"]["high"]
    assert "| real | **real macro** |" in table and "| real tasks mean |" in table


def test_benchmark_rejects_unknown_tasks_methods_and_models(tmp_path):
    with pytest.raises(ValueError, match="Unknown task"):
        run_benchmark(tasks=["imagenet"], out_dir=tmp_path)
    with pytest.raises(ValueError, match="Unknown method"):
        run_benchmark(tasks=["ecg200"], methods=["xgboost"], out_dir=tmp_path)
    with pytest.raises(ValueError, match="not a model folder"):
        run_benchmark(model=str(tmp_path), tasks=["ecg200"], out_dir=tmp_path)
    assert set(METHODS) >= {"normwear", "random_init", "statistical", "raw_linear", "minirocket"}


def test_benchmark_command(tmp_path, capsys):
    code = main(["benchmark", "--tasks", "ecg200", "--methods", "statistical", "--quick", "--out", str(tmp_path)])
    assert code == 0
    assert "| ecg200 | auroc |" in capsys.readouterr().out
    assert main(["benchmark", "--tasks", "nope", "--out", str(tmp_path)]) == 2
