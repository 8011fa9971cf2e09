"""Convert the published wesad release (``S<n>/S<n>.pkl`` subject folders) into a DatasetDict with a dataset card.

    python dataset_scripts/wesad.py /data/WESAD --out converted/wesad [--seed 0] [--test-fraction 0.2] [--overwrite]

Same as ``normwear-hf convert wesad ...``; windows and labels: ``normwear_hf.data.converters.wesad``.
"""

import sys

from normwear_hf.data.converters.common import main

if __name__ == "__main__":
    sys.exit(main(corpus="wesad", prog="dataset_scripts/wesad.py"))
