"""Convert the MIT-BIH Arrhythmia WFDB release (`100.hea/.dat/.atr` ...)
into a DatasetDict with a dataset card.

    python dataset_scripts/mitbih.py /data/mitbih --out converted/mitbih [--seed 0] [--overwrite]

Same as ``normwear-hf convert mitbih ...``; windows and labels: ``normwear_hf.data.converters.mitbih``.
"""

import sys

from normwear_hf.data.converters.common import main

if __name__ == "__main__":
    sys.exit(main(corpus="mitbih", prog="dataset_scripts/mitbih.py"))
