"""After a time-boxed pretraining run (scripts/device_pretrain.sh): what comes back from the device, and how fast.

Writes to ``--out`` at most eight files, none over 15 MB (the device tool returns 8 files of 16 MiB): the
backbone as safetensors shards with their index, config.json, preprocessor_config.json, metrics.jsonl,
training_summary.json and device_report.json. The report counts the FLOPs of one training step with torch's
FlopCounterMode on a batch of the run's own corpus and shape, and divides the achieved FLOP/s by the chip's dense
bf16 peak (MFU); on a CPU the peak is unknown and MFU is left out.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

# Dense bf16 tensor-core peaks from the vendors' datasheets (FLOP/s), by a substring of the device name.
BF16_PEAKS = {"H200": 989e12, "H100": 989e12, "A100": 312e12}
SHARD = "15MB"


def flops_per_step(run: Path, batch: int) -> float:
    """Forward + backward FLOPs of one optimizer step on ``batch`` rows of the run's corpus."""
    from normwear_hf import NormWearFeatureExtractor, NormWearForMaskedReconstruction
    from normwear_hf.data.collator import NormWearCollator
    from normwear_hf.data.corpus_io import load_corpus

    args = json.loads((run / "pretrain_args.json").read_text())
    corpus = load_corpus(args["corpus"])
    model = NormWearForMaskedReconstruction.from_pretrained(run)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model.to(device).train()
    collator = NormWearCollator(NormWearFeatureExtractor(), max_channels=args["max_channels"], return_signal=True)
    rows = [corpus[i] for i in range(min(batch, len(corpus)))]
    inputs = {name: tensor.to(device) for name, tensor in collator(rows).items()}
    with FlopCounterMode(display=False) as counter:
        with torch.autocast(device, dtype=torch.bfloat16):
            loss = model(**inputs, mask_seed=0).loss
        loss.backward()
    return float(counter.get_total_flops()) * batch / len(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", required=True, help="the pretraining output folder")
    parser.add_argument("--out", required=True, help="where the returned files go ($OUT on the device)")
    parser.add_argument("--batch", type=int, required=True, help="per-device batch size of the run")
    args = parser.parse_args(argv)
    run, out = Path(args.run), Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    from normwear_hf import NormWearModel

    NormWearModel.from_pretrained(run).save_pretrained(out, max_shard_size=SHARD)
    for name in ("preprocessor_config.json", "metrics.jsonl", "training_summary.json"):
        shutil.copy2(run / name, out / name)
    for extra in out.glob("*.py"):  # remote-code files written by save_pretrained: the package has them
        extra.unlink()

    summary = json.loads((run / "training_summary.json").read_text())
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    steady = records[len(records) // 2 :] or records  # skip warm-up and compilation
    segments_per_s = sum(r["segments_per_s"] for r in steady) / len(steady)
    steps_per_s = segments_per_s / args.batch
    step_flops = flops_per_step(run, args.batch)
    name = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"
    peak = next((value for key, value in BF16_PEAKS.items() if key in name), None)
    report = {
        "device": name,
        "steps": summary["steps"],
        "wall_time_s": summary["wall_time_s"],
        "final_loss": summary["final_loss"],
        "segments_per_s": segments_per_s,
        "flops_per_step": step_flops,
        "achieved_tflops": step_flops * steps_per_s / 1e12,
        "mfu_bf16": None if peak is None else step_flops * steps_per_s / peak,
        "files": sorted(p.name for p in out.iterdir()),
    }
    (out / "device_report.json").write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))
    too_many = len(list(out.iterdir())) > 8
    too_big = [p.name for p in out.iterdir() if p.stat().st_size > 16 * 2**20]
    if too_many or too_big:
        raise SystemExit(f"device_report: the device returns 8 files of 16 MiB; {out} has {report['files']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
