"""Convert the BIDMC CSV release (`bidmc_csv/bidmc_XX_Signals.csv` + `_Numerics.csv`)
into a DatasetDict with a dataset card.

    python dataset_scripts/bidmc.py /data/bidmc --out converted/bidmc [--seed 0] [--overwrite]

Same as ``normwear-hf convert bidmc ...``; windows and labels: ``normwear_hf.data.converters.bidmc``.
"""

import sys

from normwear_hf.data.converters.common import main

if __name__ == "__main__":
    sys.exit(main(corpus="bidmc", prog="dataset_scripts/bidmc.py"))
