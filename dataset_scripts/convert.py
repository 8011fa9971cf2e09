"""Convert a public wearable corpus, as published, into a subject-wise split DatasetDict with a dataset card.

    python dataset_scripts/convert.py wesad /data/WESAD --out converted/wesad --seed 0
    python dataset_scripts/convert.py ppg_dalia /data/PPG_FieldStudy --out converted/ppg_dalia

Same as ``normwear-hf convert``; see ``normwear_hf.data.converters.common``. Nothing is uploaded.
"""

import sys

from normwear_hf.data.converters.common import main

if __name__ == "__main__":
    sys.exit(main(prog="dataset_scripts/convert.py"))
