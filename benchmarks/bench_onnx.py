"""ONNX export on this machine: onnxruntime (fp32, int8) vs PyTorch eager (fp32, bf16 autocast), and what int8 costs.

Speed: the encoder alone (scalograms of 4-channel, 6 s recordings -> tokens), small and base presets, batch 1 and 8,
median of ``--repeats`` runs after a warm-up; every ratio is against PyTorch fp32 measured in the same run, with
torch and onnxruntime given the same number of threads (the usable cores). Small uses the bundled checkpoint's
weights, base random weights (speed does not depend on them).

Quality: the largest |difference| of onnxruntime's tokens from PyTorch's, and for int8 the cosine of the recording
embedding; then the real-task probes of the benchmark (basic_motions, ecg200, seglearn_watch, ecg5000; frozen
"probe" embeddings, logistic regression) with embeddings from PyTorch, the ONNX wrapper and the int8 wrapper:
macro AUROC and its change.

    python benchmarks/bench_onnx.py [--configs small base] [--repeats 5] [--tasks ...] [--max-test 1000] [--write]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine_description, write_section  # noqa: E402

from normwear_hf import NormWearConfig, NormWearFeatureExtractor, NormWearModel  # noqa: E402
from normwear_hf.checkpoint import DEFAULT_CHECKPOINT, load_quietly  # noqa: E402
from normwear_hf.onnx_export import export_encoder, export_onnx, folder_sizes, quantize_int8  # noqa: E402

TASKS = ("basic_motions", "ecg200", "seglearn_watch", "ecg5000")
GOAL = 1.3  # ONNX >= 1.3x PyTorch fp32 at batch 1


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def timed(fn, repeats: int) -> tuple[float, object]:
    result = fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def scalograms(extractor: NormWearFeatureExtractor, count: int) -> dict[str, torch.Tensor]:
    rng = np.random.default_rng(0)
    t = np.arange(390) / 65.0
    base = np.stack([np.sin(2 * np.pi * f * t) for f in (1.2, 0.25, 1.9, 7.0)])
    signals = base[None] + 0.2 * rng.standard_normal((count, 4, 390))
    features = extractor(signals, sampling_rate=65.0, return_tensors="pt")
    return {name: features[name] for name in ("input_values", "channel_mask", "time_mask")}


def session(path: Path, threads: int):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def speed_rows(name: str, repeats: int, folder: Path) -> list[dict]:
    extractor = NormWearFeatureExtractor()
    if name == "small":
        model, _ = load_quietly(DEFAULT_CHECKPOINT, backbone=True)
    else:
        torch.manual_seed(0)
        model = NormWearModel(NormWearConfig.from_preset(name))
    model = model.eval()
    export_encoder(model, extractor.window_length, folder / f"{name}.onnx")
    quantize_int8(folder / f"{name}.onnx", folder / f"{name}.int8.onnx")
    threads = cores()
    fp32, int8 = session(folder / f"{name}.onnx", threads), session(folder / f"{name}.int8.onnx", threads)
    rows = []
    for batch in (1, 8):
        inputs = scalograms(extractor, batch)
        feed = {key: value.numpy() for key, value in inputs.items()}

        def eager(dtype=None, inputs=inputs):
            with torch.no_grad(), torch.autocast("cpu", dtype=dtype, enabled=dtype is not None):
                return model(**inputs).last_hidden_state.float()

        t_fp32, reference = timed(eager, repeats)
        t_bf16, _ = timed(lambda: eager(torch.bfloat16), repeats)
        t_ort, (hidden, mask) = timed(lambda feed=feed: fp32.run(None, feed), repeats)
        t_int8, (hidden8, _) = timed(lambda feed=feed: int8.run(None, feed), repeats)
        pooled = (hidden * mask[..., None]).sum(2).mean(1)
        pooled8 = (hidden8 * mask[..., None]).sum(2).mean(1)
        cosine = float(
            np.mean(np.sum(pooled * pooled8, -1) / (np.linalg.norm(pooled, axis=-1) * np.linalg.norm(pooled8, axis=-1)))
        )
        rows.append(
            {
                "config": name,
                "batch": batch,
                "torch_fp32": t_fp32,
                "torch_bf16": t_bf16,
                "onnx_fp32": t_ort,
                "onnx_int8": t_int8,
                "max_abs_diff": float(np.abs(hidden - reference.numpy()).max()),
                "int8_cosine": cosine,
                "size_fp32": (folder / f"{name}.onnx").stat().st_size,
                "size_int8": (folder / f"{name}.int8.onnx").stat().st_size,
            }
        )
        print(rows[-1], flush=True)
    return rows


def auroc(references: np.ndarray, scores: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    if scores.ndim == 1:
        return float(roc_auc_score(references, scores))
    return float(roc_auc_score(references, scores, multi_class="ovr", average="macro", labels=range(scores.shape[1])))


def task_rows(tasks: list[str], max_test: int, folder: Path) -> list[dict]:
    """Probe AUROC with embeddings from PyTorch, the ONNX wrapper (fp32) and the int8 wrapper, same splits."""
    from normwear_hf.evaluation.probe import extract_embeddings, fit_probe
    from normwear_hf.evaluation.tasks import load_task
    from normwear_hf.normwear_onnx import NormWearOnnx

    out, _ = export_onnx(DEFAULT_CHECKPOINT, folder / "export", int8=True)
    runtimes = {
        "onnx_fp32": NormWearOnnx(out, threads=cores()),
        "onnx_int8": NormWearOnnx(out, int8=True, threads=cores()),
    }
    model, extractor = load_quietly(DEFAULT_CHECKPOINT, backbone=True)
    rows = []
    for name in tasks:
        try:
            task = load_task(name, max_test=max_test)
        except ImportError as error:
            print(f"{name}: skipped ({error})")
            continue
        row = {"task": name, "train": len(task.train), "test": len(task.test)}
        features = {"torch_fp32": [extract_embeddings(model, extractor, rows_, pooling="probe", progress=False)
                                   for rows_ in (task.train, task.test)]}  # fmt: skip
        for key, runtime in runtimes.items():
            start = time.perf_counter()
            features[key] = [
                np.stack(
                    [
                        runtime.embed(list(map(np.asarray, r["signals"])), list(r["sampling_rate"]), pooling="probe")
                        for r in rows_
                    ]
                )
                for rows_ in (task.train, task.test)
            ]
            row[f"{key}_seconds"] = time.perf_counter() - start
        for key, (train_x, test_x) in features.items():
            fitted = fit_probe(train_x, task.y_train, test_x, task.y_test, task.kind)
            row[key] = auroc(np.asarray(fitted["references"]), np.asarray(fitted["scores"]))
        print(row, flush=True)
        rows.append(row)
    return rows


def to_markdown(speed: list[dict], tasks: list[dict], sizes: dict[str, int], command: str) -> str:
    lines = [
        f"Machine: {machine_description()}; onnxruntime with {cores()} intra-op threads  ",
        f"Command: `{command}` ({date.today().isoformat()})",
        "",
        "Encoder only (scalograms of 4-channel 6 s recordings -> tokens), median seconds per call; ratios are speed-ups"
        " against PyTorch fp32 eager measured in the same run. Small: the bundled checkpoint; base: random weights.",
        "",
        "| preset | batch | PyTorch fp32 | PyTorch bf16 | ONNX fp32 | ONNX int8 | ONNX max abs diff | int8 emb. cos |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in speed:
        ref = r["torch_fp32"]
        lines.append(
            f"| {r['config']} | {r['batch']} | {ref:.3f} s | {r['torch_bf16']:.3f} s ({ref / r['torch_bf16']:.2f}x) | "
            f"{r['onnx_fp32']:.3f} s ({ref / r['onnx_fp32']:.2f}x) | "
            f"{r['onnx_int8']:.3f} s ({ref / r['onnx_int8']:.2f}x) | {r['max_abs_diff']:.1e} | {r['int8_cosine']:.4f} |"
        )
    verdicts = []
    for r in speed:
        if r["batch"] == 1:
            ratio = r["torch_fp32"] / r["onnx_fp32"]
            verdicts.append(f"{r['config']} {ratio:.2f}x ({'met' if ratio >= GOAL else 'missed'})")
    lines += ["", f"Goal ONNX fp32 >= {GOAL}x PyTorch fp32 at batch 1: " + ", ".join(verdicts) + "."]
    size_rows = [r for r in speed if r["batch"] == 1]
    lines += [
        "",
        "Encoder file sizes: "
        + ", ".join(
            f"{r['config']} {r['size_fp32'] / 2**20:.1f} MiB fp32 -> {r['size_int8'] / 2**20:.1f} MiB int8"
            for r in size_rows
        )
        + " (dynamic int8: MatMul/Gemm weights quantised, activations quantised on the fly).",
    ]
    if sizes:
        lines.append(
            "Exported bundled checkpoint: " + ", ".join(f"{k} {v / 2**20:.1f} MiB" for k, v in sizes.items()) + "."
        )
    if tasks:
        lines += [
            "",
            "Real tasks (bundled checkpoint, frozen `probe` embeddings, logistic regression; AUROC, macro one-vs-rest"
            " for several classes): the same probe on embeddings from PyTorch, the ONNX wrapper (numpy preprocessing"
            " + ONNX CWT + encoder) and the int8 wrapper. Test sets capped as in the command.",
            "",
            "| task | train / test | PyTorch fp32 | ONNX fp32 | ONNX int8 | int8 change | wrapper s fp32 / int8 |",
            "|---|---|---|---|---|---|---|",
        ]
        for r in tasks:
            lines.append(
                f"| {r['task']} | {r['train']} / {r['test']} | {r['torch_fp32']:.4f} | {r['onnx_fp32']:.4f} | "
                f"{r['onnx_int8']:.4f} | {r['onnx_int8'] - r['torch_fp32']:+.4f} | "
                f"{r['onnx_fp32_seconds']:.0f} / {r['onnx_int8_seconds']:.0f} |"
            )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--configs", nargs="+", default=["small", "base"])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--tasks", nargs="*", default=list(TASKS))
    parser.add_argument("--max-test", type=int, default=1000)
    parser.add_argument("--write", action="store_true", help="write the section 'onnx' of docs/benchmarks.md")
    args = parser.parse_args()
    torch.set_num_threads(cores())
    with tempfile.TemporaryDirectory(prefix="bench-onnx-") as tmp:
        folder = Path(tmp)
        speed = [row for name in args.configs for row in speed_rows(name, args.repeats, folder)]
        tasks = task_rows(args.tasks, args.max_test, folder) if args.tasks else []
        sizes = folder_sizes(folder / "export") if (folder / "export").is_dir() else {}
    command = "python benchmarks/bench_onnx.py " + " ".join(sys.argv[1:])
    markdown = to_markdown(speed, tasks, sizes, command.strip())
    print(markdown)
    if args.write:
        path = write_section("onnx", "## ONNX export: speed, parity and int8\n\n" + markdown)
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
