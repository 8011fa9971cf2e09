"""Convert the Bonn epilepsy EEG release (set folders or Z/O/N/F/S zip archives)
into a DatasetDict with a dataset card.

    python dataset_scripts/bonn.py /data/bonn --out converted/bonn [--seed 0] [--overwrite]

Same as ``normwear-hf convert bonn ...``; windows and labels: ``normwear_hf.data.converters.bonn``.
"""

import sys

from normwear_hf.data.converters.common import main

if __name__ == "__main__":
    sys.exit(main(corpus="bonn", prog="dataset_scripts/bonn.py"))
