"""Convert the UCI-HAR text release (`UCI HAR Dataset/`)
into a DatasetDict with a dataset card.

    python dataset_scripts/uci_har.py /data/uci_har --out converted/uci_har [--seed 0] [--overwrite]

Same as ``normwear-hf convert uci_har ...``; windows and labels: ``normwear_hf.data.converters.uci_har``.
"""

import sys

from normwear_hf.data.converters.common import main

if __name__ == "__main__":
    sys.exit(main(corpus="uci_har", prog="dataset_scripts/uci_har.py"))
