"""Write a NormWear model folder's model card (README.md + loss_curve.png); the logic is normwear_hf.model_card.

    python modeling_cards/generate_model_card.py --out_dir runs/tiny --benchmark_results bench/results.json \
        --training_run runs/tiny --command "normwear-hf pretrain ..." --corpus "..." --machine "..."
"""

import sys

from normwear_hf.model_card import main

if __name__ == "__main__":
    sys.exit(main(prog="generate_model_card.py"))
