"""Pretrain NormWear by masked reconstruction (Accelerate).

    python examples/pretrain.py --corpus corpus/ --output_dir runs/tiny --config tiny --max_steps 2000
    accelerate launch examples/pretrain.py --corpus corpus/ --mixed_precision bf16 ...   # GPUs / nodes
    torchrun --nproc_per_node 2 examples/pretrain.py --corpus corpus/ ...                # CPU processes

`python examples/pretrain.py --help` lists every option; `normwear-hf pretrain` is the same program.
"""

import sys

from normwear_hf.training.pretrain import main

if __name__ == "__main__":
    sys.exit(main())
