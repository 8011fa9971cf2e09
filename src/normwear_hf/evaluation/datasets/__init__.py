"""Loaders of the real labelled tasks that need more than a few lines, one module per data set.

Each module exposes one ``load_<task>(seed, **_) -> Task`` that :mod:`normwear_hf.evaluation.tasks` registers
(and imports only when the task is loaded). The data come from installed PyPI packages, located with
``importlib.util.find_spec`` and never imported (see :mod:`normwear_hf.data.real_corpora`).

==============  ======================  ===========================================================================
module          task                    data
==============  ======================  ===========================================================================
systole_affect  ``systole_affect``      systole Task 1: neutral vs disgust image trials, ECG + EDA + respiration
eeg_eyes        ``eeg_eyes``            biosignalsnotebooks: occipital EEG with eyes closed vs open
==============  ======================  ===========================================================================
"""
