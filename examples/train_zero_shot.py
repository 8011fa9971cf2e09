"""Align a frozen NormWear backbone with a frozen sentence encoder (MSiTF) and evaluate zero-shot (Accelerate).

    python examples/train_zero_shot.py --model runs/pre_small --output_dir runs/zero_shot
    accelerate launch examples/train_zero_shot.py --model runs/pre_small --output_dir runs/zero_shot

Held-in tasks (trained) and held-out tasks (evaluated only) are listed in docs/zero_shot.md and
`normwear_hf.zero_shot.prompts`. `--help` lists every option; `normwear-hf train-zero-shot` is the same program.
"""

import sys

from normwear_hf.zero_shot.train import main

if __name__ == "__main__":
    sys.exit(main())
