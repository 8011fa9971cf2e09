"""Convert the PPG-BP figshare release (`PPG-BP dataset.xlsx` + `0_subject/`)
into a DatasetDict with a dataset card.

    python dataset_scripts/ppg_bp.py /data/ppg_bp --out converted/ppg_bp [--seed 0] [--overwrite]

Same as ``normwear-hf convert ppg_bp ...``; windows and labels: ``normwear_hf.data.converters.ppg_bp``.
"""

import sys

from normwear_hf.data.converters.common import main

if __name__ == "__main__":
    sys.exit(main(corpus="ppg_bp", prog="dataset_scripts/ppg_bp.py"))
