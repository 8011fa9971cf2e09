"""``python -m normwear_hf.model_card``: the same command line as ``modeling_cards/generate_model_card.py``."""

import sys

from .writer import main

sys.exit(main())
