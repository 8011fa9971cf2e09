"""Embedding throughput of NormWear on this machine: fp32 vs bf16, base and small configurations.

For each configuration, one 4-channel, 6 s recording at 65 Hz goes end to end through the feature extractor
(preprocessing + CWT) and the model (mean-pooled embedding), in fp32 and under bf16 autocast. The bf16 figure
is printed as a ratio against fp32 measured in the same run, and against the research code's published
per-recording times on these 2-core machines (2.7 s fp32, 1.56 s bf16; normwear-reference.md section 6).
bf16 quality is the cosine similarity of every output token and of the embedding against fp32.

    python benchmarks/bench_embedding.py [--configs base small] [--repeats 3] [--batch 8] [--write]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine_description, write_section  # noqa: E402

from normwear_hf import NormWearConfig, NormWearFeatureExtractor, NormWearModel  # noqa: E402

RESEARCH_FP32_S = 2.7
RESEARCH_BF16_S = 1.56


def make_recordings(count: int, channels: int = 4, samples: int = 390, rate: float = 65.0) -> np.ndarray:
    rng = np.random.default_rng(0)
    t = np.arange(samples) / rate
    base = np.stack([np.sin(2 * np.pi * f * t) for f in (1.2, 0.25, 1.9, 7.0)[:channels]])
    return (base[None] + 0.2 * rng.standard_normal((count, channels, samples))).astype(np.float32)


def timed(fn, repeats: int) -> tuple[float, object]:
    fn()  # warm-up: wavelet bank, position tables, kernels
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def run_config(name: str, repeats: int, batch: int, device: str) -> list[dict]:
    torch.manual_seed(0)
    model = NormWearModel(NormWearConfig.from_preset(name)).eval().to(device)
    extractor = NormWearFeatureExtractor()
    rows = []
    for count in (1, batch):
        signals = make_recordings(count)

        def forward(dtype, signals=signals):
            with torch.no_grad(), torch.autocast(device, dtype=dtype, enabled=dtype is not None):
                features = extractor(signals, sampling_rate=65.0, return_tensors="pt")
                outputs = model(**{k: v.to(device) for k, v in features.items()})
                return outputs.last_hidden_state.float(), outputs.last_hidden_state.float().mean(dim=2)

        fp32_s, (fp32_tokens, fp32_emb) = timed(lambda: forward(None), repeats)
        bf16_s, (bf16_tokens, bf16_emb) = timed(lambda: forward(torch.bfloat16), repeats)
        token_cos = F.cosine_similarity(bf16_tokens, fp32_tokens, dim=-1).min().item()
        emb_cos = F.cosine_similarity(bf16_emb, fp32_emb, dim=-1).min().item()
        rows.append(
            dict(
                config=name,
                params_m=sum(p.numel() for p in model.parameters()) / 1e6,
                batch=count,
                fp32_s=fp32_s / count,
                bf16_s=bf16_s / count,
                speedup=fp32_s / bf16_s,
                vs_research_fp32=RESEARCH_FP32_S / (bf16_s / count),
                token_cos=token_cos,
                emb_cos=emb_cos,
            )
        )
        r = rows[-1]
        print(
            f"{name:5s} batch {count}: fp32 {r['fp32_s']:.3f} s/rec, bf16 {r['bf16_s']:.3f} s/rec "
            f"({r['speedup']:.2f}x vs fp32 in this run, {r['vs_research_fp32']:.2f}x vs research fp32 2.7 s), "
            f"min cosine bf16 vs fp32: tokens {token_cos:.6f}, embedding {emb_cos:.6f}",
            flush=True,
        )
    return rows


def to_markdown(rows: list[dict], command: str) -> str:
    lines = [
        f"Machine: {machine_description()}  ",
        f"Date: {date.today().isoformat()}  ",
        f"Command: `{command}`",
        "",
        "One 4-channel, 6 s recording (390 samples at 65 Hz), feature extraction included; seconds per "
        "recording (median). Research code on these machines: 2.7 s fp32, 1.56 s bf16 (base).",
        "",
        "| config | params (M) | batch | fp32 s/rec | bf16 s/rec | bf16 rec/s | bf16 vs fp32 (same run) "
        "| bf16 vs research fp32 2.7 s | min token cosine | min embedding cosine |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['config']} | {r['params_m']:.1f} | {r['batch']} | {r['fp32_s']:.3f} | {r['bf16_s']:.3f} "
            f"| {1 / r['bf16_s']:.2f} "
            f"| {r['speedup']:.2f}x | {r['vs_research_fp32']:.2f}x | {r['token_cos']:.6f} | {r['emb_cos']:.6f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--configs", nargs="+", default=["base", "small"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--write", action="store_true", help="record the table in docs/benchmarks.md")
    args = parser.parse_args()
    rows = []
    for name in args.configs:
        rows.extend(run_config(name, args.repeats, args.batch, args.device))
    command = "python benchmarks/bench_embedding.py " + " ".join(sys.argv[1:])
    markdown = to_markdown(rows, command.strip())
    print(markdown)
    if args.write:
        section = "embedding" if args.device == "cpu" else f"embedding-{args.device}"
        write_section(section, "## Embedding throughput (" + args.device + ")\n\n" + markdown)


if __name__ == "__main__":
    main()
