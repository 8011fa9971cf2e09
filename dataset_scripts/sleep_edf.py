"""Convert the Sleep-EDF Expanded release (`SC4ssNE0-PSG.edf` + `SC4ssNx-Hypnogram.edf`)
into a DatasetDict with a dataset card.

    python dataset_scripts/sleep_edf.py /data/sleep_edf --out converted/sleep_edf [--seed 0] [--overwrite]

Same as ``normwear-hf convert sleep_edf ...``; windows and labels: ``normwear_hf.data.converters.sleep_edf``.
"""

import sys

from normwear_hf.data.converters.common import main

if __name__ == "__main__":
    sys.exit(main(corpus="sleep_edf", prog="dataset_scripts/sleep_edf.py"))
