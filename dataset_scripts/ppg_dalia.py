"""Convert the published ppg_dalia release (``S<n>/S<n>.pkl`` subject folders) into a DatasetDict with a dataset card.

    python dataset_scripts/ppg_dalia.py /data/PPG_FieldStudy --out converted/ppg_dalia [--seed 0] [--overwrite]

Same as ``normwear-hf convert ppg_dalia ...``; windows and labels: ``normwear_hf.data.converters.ppg_dalia``.
"""

import sys

from normwear_hf.data.converters.common import main

if __name__ == "__main__":
    sys.exit(main(corpus="ppg_dalia", prog="dataset_scripts/ppg_dalia.py"))
