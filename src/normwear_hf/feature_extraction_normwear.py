"""NormWear feature extractor: raw multichannel wearable signals -> wavelet "scalogram" tensors.

Pipeline per channel (NormWear paper, section 1): check values -> fill short NaN gaps at the original
rate -> resample to 65 Hz -> cut into model windows -> repair jumps -> linear detrend -> Gaussian
smoothing -> divide by the mean absolute value -> zero-pad -> [signal, 1st diff, 2nd diff] planes ->
Mexican-hat CWT at 65 scales.

This file is copied next to saved models (``trust_remote_code``): it imports only numpy, torch,
transformers and its sibling ``signal_processing``. It is over 600 lines on purpose: exported
preprocessor_config.json files name ``feature_extraction_normwear.NormWearFeatureExtractor`` in their
``auto_map``, and the extractor must stay one flat file there. The signal steps themselves (resampling, cleaning,
CWT) already live in ``signal_processing``; what remains is one class's input contract (checks of every accepted
input form), windowing and batching, and another flat module would be one more file in every export, Hub cache
and bundled checkpoint for no change in what a reader has to follow.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterator, Sequence

import numpy as np
from transformers.feature_extraction_utils import BatchFeature, FeatureExtractionMixin
from transformers.utils import logging

from .rhythm_features import rhythm_values
from .signal_processing import (
    DEFAULT_SCALES,
    TARGET_SAMPLING_RATE,
    cwt_numpy,
    cwt_torch,
    derivative_planes,
    detrend,
    fill_missing,
    gaussian_smooth,
    normalize_mean_abs,
    repair_jumps,
    resample,
    resample_ratio,
    resampled_length,
    unit_peak_if_huge,
)

logger = logging.get_logger(__name__)

#: Sensor types a channel may be tagged with (``channel_types=``); also used by the dataset schema.
CHANNEL_TYPES = ("ecg", "ppg", "eeg", "eda", "resp", "emg", "acc", "gyro", "temp", "pcg", "other")
LONG_INPUT_MODES = ("truncate", "split")
CWT_BACKENDS = ("numpy", "torch")
#: Rates outside this range (Hz) are accepted but logged as implausible for a wearable sensor.
PLAUSIBLE_RATE_RANGE = (1.0, 100_000.0)
# A window whose mean |x| after detrending is below this fraction of its mean |x| before is "flat".
_FLAT_RTOL = 1e-7
_FLAT_ATOL = 1e-12
#: Channel-windows per piece of ``iter_batches`` by default: 16 channels x 8 windows, about 40 MB of scalograms
#: and 1.5 GB of small-model activations at most, whatever the channel count.
MAX_CHANNEL_WINDOWS = 128
#: Floor of the mean |x| whose log10 is a channel's level: a flat channel reads -12, not -inf.
LEVEL_FLOOR = 1e-12
_MAX_LISTED = 5  # recordings/channels named individually in an aggregated warning
# Rates this far above the model rate lose most of their bandwidth in resampling (EMG, high-resolution ECG):
# say so once per rate and process, so a user of 10 kHz EMG knows that only the envelope-scale content survives.
HIGH_RATE_FACTOR = 8.0
# A window or scale bank larger than these cannot come from a real NormWear config; refusing them early avoids
# multi-gigabyte allocations from a hostile preprocessor_config.json.
MAX_WINDOW_LENGTH = 16384
MAX_SCALES = 1024
# Channels of one recording: each becomes its own token sequence, so 10,000 channels is a multi-GB batch and
# almost always a [time, channels] array passed the wrong way round.
MAX_CHANNELS = 1024
# What one __call__ may build at once; longer inputs go through iter_batches (embed and the pipeline do).
MAX_CALL_BYTES = 2 * 2**30
_HIGH_RATES_WARNED: set[float] = set()


def _is_tensor(obj) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(obj, torch.Tensor)


def _is_number(value) -> bool:
    if isinstance(value, (bool, np.bool_)):
        return False
    if _is_tensor(value) or isinstance(value, np.ndarray):
        return value.ndim == 0 and not (_is_tensor(value) and value.dtype.is_complex)
    return isinstance(value, (int, float, np.integer, np.floating))


def _depth(obj) -> int:
    """Number of array dimensions of a (possibly ragged) nested structure, following first elements."""
    if isinstance(obj, np.ndarray) or _is_tensor(obj):
        return obj.ndim
    if isinstance(obj, (list, tuple)):
        return 1 + (_depth(obj[0]) if len(obj) else 0)
    return 0


def _as_float_array(obj, where: str) -> np.ndarray:
    if _is_tensor(obj):
        if obj.device.type == "meta":
            raise ValueError(f"{where}: a tensor on the 'meta' device holds no values; pass the real data.")
        if obj.is_complex():
            raise ValueError(f"{where}: complex values are not supported; pass the real signal.")
        obj = obj.detach().to("cpu").double().numpy()
    try:
        arr = np.asarray(obj)
    except ValueError as err:  # ragged nested list
        raise ValueError(f"{where}: could not read the values as a numeric array ({err}).") from None
    if arr.dtype.kind not in "biuf":
        raise ValueError(
            f"{where}: expected real numbers, got an array of dtype {arr.dtype}. Pass numeric signal values."
        )
    return arr.astype(np.float64)


def _from_dataframe(obj):
    """A pandas DataFrame (columns = channels, rows = time) -> ``[C, T]``; anything else unchanged."""
    if hasattr(obj, "columns") and hasattr(obj, "to_numpy") and getattr(obj, "ndim", 0) == 2:
        return _as_float_array(obj.to_numpy(), "the DataFrame").T
    return obj


def recording_channels(recording, where: str = "recording 0", allow_1d: bool = False) -> list[np.ndarray]:
    """One recording as a list of 1-D float64 channels, with the input checks every entry point shares.

    Accepts ``[C, T]`` (array or tensor), a list of 1-D channels (lengths may differ), a pandas DataFrame
    (columns are channels) and, with ``allow_1d``, a single channel ``[T]``.
    """
    recording = _from_dataframe(recording)
    depth = _depth(recording)
    if allow_1d and depth == 1 and not (isinstance(recording, (list, tuple)) and _depth(recording[0]) >= 1):
        recording = [recording]
        depth = 2
    if depth != 2:
        raise ValueError(
            f"{where} has {depth} dimension(s); every recording must be [C, T] "
            "(channels, time) or a list of 1-D channel arrays; pass [1, T] for one channel."
        )
    if isinstance(recording, (list, tuple)):
        channels = [_as_float_array(ch, f"{where}, channel {c}") for c, ch in enumerate(recording)]
        for c, ch in enumerate(channels):
            if ch.ndim != 1:
                raise ValueError(f"{where}, channel {c} must be 1-D (time), got shape {ch.shape}.")
    else:
        channels = list(_as_float_array(recording, where))
    if len(channels) == 0:
        raise ValueError(f"{where} has zero channels; every recording needs at least one channel.")
    for c, ch in enumerate(channels):
        if ch.size == 0:
            raise ValueError(f"{where}, channel {c} has zero samples.")
    return channels


def _fmt_rate(rate: float) -> str:
    return f"{rate:g} Hz"


class NormWearFeatureExtractor(FeatureExtractionMixin):
    r"""Turns raw wearable recordings into NormWear model inputs.

    Args:
        sampling_rate (`float`, defaults to 65.0): rate (Hz) every channel is resampled to (the model rate).
        window_length (`int`, defaults to 390): samples per model window at `sampling_rate` (6 s).
        scales (`list[float]`, defaults to 0.1, 1.1, ..., 64.1): Mexican-hat CWT scales.
        long_input (`str`, defaults to `"truncate"`): what to do with recordings longer than one window:
            `"truncate"` keeps the first window (and logs a warning), `"split"` cuts the recording into
            consecutive non-overlapping windows and returns `recording_index`.
        jump_percentile (`float`, defaults to 95.0): jumps above this percentile of |diff| are interpolated.
        smoothing_sigma_seconds (`float`, defaults to 0.02): Gaussian smoothing width (0 disables).
        max_gap_seconds (`float`, defaults to 1.0): longest run of NaN samples that is interpolated.
        min_duration_seconds (`float`, defaults to 1.0): shorter recordings are rejected.
        cwt_backend (`str`, defaults to `"numpy"`): `"numpy"` or `"torch"` (can run on a GPU via `device=`).

    Calling it returns a [`~transformers.BatchFeature`] with
        - `input_values` float32 `[N, C_max, 3, window_length - 2, len(scales)]`,
        - `channel_mask` int64 `[N, C_max]` (1 = real channel, 0 = padding),
        - `time_mask` int64 `[N, window_length - 2]` (1 = CWT step computed from real samples),
        - `input_levels` float32 `[N, C_max]`: log10 of each channel window's mean |x| before normalisation (in
          the input's units; 0 for padding). The scalograms are amplitude-free; the `"probe_level"` pooling
          appends this number so that a probe can still use amplitude (EEG alpha power, EDA level),
        - `recording_index` int64 `[N]` (only with `long_input="split"`): input recording of each window,
        - `channel_types` / `channel_names`: `N` lists of strings, only when given.

    Policies:
        - NaN marks a missing sample: runs up to `max_gap_seconds` are linearly interpolated at the original
          rate, longer runs and all-NaN channels raise `ValueError`. +/-inf raises `ValueError` (overflow or
          decoding error; replace it with NaN to have it treated as missing).
        - Sampling rates must be positive and finite; rates below 1 Hz or above 100 kHz are accepted with a
          logged warning (probably given in the wrong unit).
        - Cleaning (jump repair, detrend, smoothing, mean-|x| normalisation) runs on each model window on
          its own, as in pretraining, so a window's features do not depend on the rest of the recording and
          `"truncate"` gives exactly the first window of `"split"`. Zero padding comes after normalisation.
        - A flat (constant or straight-line) channel window gives all-zero planes and a logged warning.
        - With `"truncate"`, only the part of a long recording that the first window needs is checked and
          resampled.
    """

    model_input_names = ["input_values", "channel_mask", "time_mask"]

    def __init__(
        self,
        sampling_rate: float = TARGET_SAMPLING_RATE,
        window_length: int = 390,
        scales: Sequence[float] | None = None,
        long_input: str = "truncate",
        jump_percentile: float = 95.0,
        smoothing_sigma_seconds: float = 0.02,
        max_gap_seconds: float = 1.0,
        min_duration_seconds: float = 1.0,
        cwt_backend: str = "numpy",
        **kwargs,
    ):
        odd = sorted(key for key in kwargs if key.startswith("__") or not key.isidentifier())
        if odd:
            raise ValueError(
                f"preprocessor_config.json holds the key(s) {odd}, which are not settings of a feature extractor "
                "(the file is corrupt or hostile); remove them."
            )
        super().__init__(**kwargs)
        if not _is_number(sampling_rate) or not math.isfinite(sampling_rate) or sampling_rate <= 0:
            raise ValueError(f"sampling_rate (the model rate) must be a positive number of Hz, got {sampling_rate!r}.")
        if isinstance(window_length, bool) or not isinstance(window_length, (int, np.integer)) or window_length < 3:
            raise ValueError(f"window_length must be an integer >= 3 (samples), got {window_length!r}.")
        if window_length > MAX_WINDOW_LENGTH:
            raise ValueError(
                f"window_length = {window_length} samples is beyond the model's reach (at most {MAX_WINDOW_LENGTH}, "
                "i.e. about 4 min at 65 Hz; the model was trained on 390); the config is corrupt or hostile."
            )
        if scales is None:
            scales = DEFAULT_SCALES
        scales = [float(s) for s in np.atleast_1d(np.asarray(scales, dtype=np.float64))]
        if not scales or not all(math.isfinite(s) and s > 0 for s in scales):
            raise ValueError(f"scales must be a non-empty list of positive, finite numbers, got {scales!r}.")
        if len(scales) > MAX_SCALES:
            raise ValueError(f"scales holds {len(scales)} scales; at most {MAX_SCALES} (the model uses 65).")
        self._check_choice("long_input", long_input, LONG_INPUT_MODES)
        self._check_choice("cwt_backend", cwt_backend, CWT_BACKENDS)
        if not _is_number(jump_percentile) or not 0 < jump_percentile <= 100:
            raise ValueError(f"jump_percentile must be in (0, 100] (100 disables it), got {jump_percentile!r}.")
        for name, value in (
            ("smoothing_sigma_seconds", smoothing_sigma_seconds),
            ("max_gap_seconds", max_gap_seconds),
            ("min_duration_seconds", min_duration_seconds),
        ):
            if not _is_number(value) or not math.isfinite(value) or value < 0:
                raise ValueError(f"{name} must be a finite number of seconds >= 0, got {value!r}.")
        self.sampling_rate = float(sampling_rate)
        self.window_length = int(window_length)
        self.scales = scales
        self.long_input = long_input
        self.jump_percentile = float(jump_percentile)
        self.smoothing_sigma_seconds = float(smoothing_sigma_seconds)
        self.max_gap_seconds = float(max_gap_seconds)
        self.min_duration_seconds = float(min_duration_seconds)
        self.cwt_backend = cwt_backend

    @staticmethod
    def _check_choice(name: str, value, choices: Sequence[str]) -> None:
        if value not in choices:
            raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}.")

    # ------------------------------------------------------------------------------------------
    # Input parsing
    # ------------------------------------------------------------------------------------------
    @staticmethod
    def _parse_signals(signals) -> tuple[list[list[np.ndarray]], bool]:
        """-> (recordings as lists of 1-D float64 channels, whether the input was a batch)."""
        if signals is None:
            raise ValueError("signals is None: pass a recording [C, T] or a batch [B, C, T].")
        signals = _from_dataframe(signals)
        depth = _depth(signals)
        if (depth == 1 or isinstance(signals, (list, tuple))) and len(signals) == 0:
            raise ValueError("Empty input: no recordings were given. Pass a recording [C, T] or a batch [B, C, T].")
        if depth == 0:
            raise ValueError(
                f"signals is a scalar ({type(signals).__name__}); NormWear needs samples over time. Pass one "
                "channel [T], a recording [C, T] (channels, time) or a batch [B, C, T]."
            )
        if depth == 1:  # one channel, as transformers' audio extractors read a 1-D waveform
            signals, depth = [signals], 2
        if depth > 3:
            raise ValueError(
                f"signals has {depth} dimensions; expected one recording [C, T] (channels, time) or a batch "
                "[B, C, T]. Reshape or flatten extra axes into channels or recordings."
            )
        is_batch = depth == 3
        items = list(signals) if is_batch else [signals]
        if is_batch and len(items) == 0:
            raise ValueError("Empty input: the batch contains no recordings.")
        recordings = [recording_channels(rec, f"recording {r}") for r, rec in enumerate(items)]
        return recordings, is_batch

    @staticmethod
    def _check_rate(value, where: str) -> float:
        if isinstance(value, (bool, np.bool_)):
            raise ValueError(f"{where} must be a number of Hz, got the boolean {value!r}.")
        if not _is_number(value):
            raise ValueError(f"{where} must be a number of Hz (e.g. 256), got {value!r}.")
        rate = float(value)
        if math.isnan(rate):
            raise ValueError(f"{where} is NaN; pass the real sampling rate in Hz (e.g. 256).")
        if math.isinf(rate):
            raise ValueError(f"{where} is infinite; pass the real sampling rate in Hz (e.g. 256).")
        if rate <= 0:
            raise ValueError(f"{where} must be positive (Hz), got {rate:g}; pass the real sampling rate (e.g. 256).")
        low, high = PLAUSIBLE_RATE_RANGE
        if not low <= rate <= high:
            logger.warning(
                f"{where} = {rate:g} Hz is outside the usual range of wearable sensors "
                f"({low:g} Hz - {high:g} Hz); check that it is given in Hz (samples per second). "
                "Proceeding anyway."
            )
        return rate

    def _parse_rates(self, sampling_rate, recordings, is_batch: bool) -> list[list[float]]:
        """-> one rate (Hz) per channel of every recording."""
        if sampling_rate is None:
            raise ValueError(
                "sampling_rate is required: give the rate of your signals in Hz, e.g. "
                "feature_extractor(signals, sampling_rate=256). Use one number, one per channel, or (for a "
                "batch) one per recording. The signals are resampled to "
                f"{_fmt_rate(self.sampling_rate)}, so a wrong rate silently corrupts the features."
            )
        if _is_tensor(sampling_rate) or isinstance(sampling_rate, np.ndarray):
            sampling_rate = sampling_rate.tolist()

        def per_channel(value, rec, where):
            if isinstance(value, (list, tuple)):
                if len(value) != len(rec):
                    raise ValueError(
                        f"{where} has {len(value)} entries but the recording has {len(rec)} channels; "
                        "pass one rate per channel or a single number for all channels."
                    )
                return [self._check_rate(v, f"{where}[{c}]") for c, v in enumerate(value)]
            return [self._check_rate(value, where)] * len(rec)

        if not is_batch:
            return [per_channel(sampling_rate, recordings[0], "sampling_rate")]
        if isinstance(sampling_rate, (list, tuple)):
            if len(sampling_rate) != len(recordings):
                raise ValueError(
                    f"sampling_rate has {len(sampling_rate)} entries but the batch has {len(recordings)} "
                    "recordings; pass one number for all, or one entry (a number or a per-channel list) per "
                    "recording."
                )
            return [
                per_channel(value, rec, f"sampling_rate[{r}]")
                for r, (value, rec) in enumerate(zip(sampling_rate, recordings, strict=True))
            ]
        rate = self._check_rate(sampling_rate, "sampling_rate")
        return [[rate] * len(rec) for rec in recordings]

    @staticmethod
    def _parse_labels(labels, recordings, is_batch: bool, name: str, allowed=None) -> list[list[str]] | None:
        if labels is None:
            return None
        if _is_tensor(labels) or isinstance(labels, np.ndarray):
            labels = labels.tolist()
        if isinstance(labels, str) or not isinstance(labels, (list, tuple)):
            raise ValueError(f"{name} must be a list of strings (one per channel), got {labels!r}.")
        flat = all(isinstance(v, str) for v in labels)
        if not is_batch or flat:
            if not flat:
                raise ValueError(f"{name} must be a list of strings (one per channel), got {labels!r}.")
            per_rec = [list(labels)] * len(recordings)
        else:
            if len(labels) != len(recordings):
                raise ValueError(
                    f"{name} has {len(labels)} entries but the batch has {len(recordings)} recordings; "
                    "pass one list per recording, or a single list used for every recording."
                )
            per_rec = [list(v) if isinstance(v, (list, tuple)) else v for v in labels]
        out = []
        for r, (values, rec) in enumerate(zip(per_rec, recordings, strict=True)):
            if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
                raise ValueError(f"{name} for recording {r} must be a list of strings, got {values!r}.")
            if len(values) != len(rec):
                raise ValueError(
                    f"{name} for recording {r} has {len(values)} entries but the recording has {len(rec)} "
                    "channels; give exactly one per channel."
                )
            if allowed is not None:
                values = [v.lower() for v in values]
                unknown = [v for v in values if v not in allowed]
                if unknown:
                    raise ValueError(
                        f"Unknown channel type {unknown[0]!r} in recording {r}; allowed channel types: "
                        f"{', '.join(allowed)} (use 'other' for anything else)."
                    )
            out.append(values)
        return out

    # ------------------------------------------------------------------------------------------
    # Per-recording processing at the original rate -> 65 Hz
    # ------------------------------------------------------------------------------------------
    def _min_samples(self) -> int:
        return max(3, math.ceil(self.min_duration_seconds * self.sampling_rate - 1e-9))

    def _to_model_rate(self, recordings, rates, long_input: str) -> tuple[list[np.ndarray], list[int]]:
        """Check, fill and resample every channel; -> ([C_i, L_i] arrays at the model rate, full lengths)."""
        target = self.sampling_rate
        window = self.window_length
        full_lengths = []
        # Check durations first (cheap) and, for "truncate", crop to what the first window needs.
        crops: list[list[int]] = []
        self._warn_high_rates(rates)
        for r, (rec, rec_rates) in enumerate(zip(recordings, rates, strict=True)):
            lengths = [resampled_length(ch.size, fs, target) for ch, fs in zip(rec, rec_rates, strict=True)]
            duration = min(ch.size / fs for ch, fs in zip(rec, rec_rates, strict=True))
            full = min(lengths)
            if duration < self.min_duration_seconds - 1e-9 or full < self._min_samples():
                shortest = int(np.argmin([ch.size / fs for ch, fs in zip(rec, rec_rates, strict=True)]))
                transposed = ""
                if len(rec) > rec[shortest].size:
                    transposed = (
                        f" It has {len(rec)} channels of {rec[shortest].size} samples: if its rows are time steps "
                        "(a [T, C] table), pass it transposed (signals.T), as NormWear reads [channels, time]."
                    )
                raise ValueError(
                    f"recording {r} lasts only {duration:.3f} s (channel {shortest}: "
                    f"{rec[shortest].size} samples at {_fmt_rate(rec_rates[shortest])}); NormWear needs at "
                    f"least min_duration_seconds={self.min_duration_seconds:g} s. Pass a longer recording or "
                    f"drop this one.{transposed}"
                )
            full_lengths.append(full)
            crop = []
            for ch, fs in zip(rec, rec_rates, strict=True):
                keep = ch.size
                if long_input == "truncate" and full > window:
                    # Resampling is local (FIR + antireflect padding), so a prefix that covers the window
                    # plus the filter reach gives exactly the same first samples: skip the rest.
                    keep = min(ch.size, math.ceil(window * fs / target) + self._filter_reach(fs))
                crop.append(keep)
            crops.append(crop)

        # Group channels by (rate, kept length) across the batch: one fill/resample call per group.
        groups: dict[tuple[float, int], list[tuple[int, int]]] = {}
        for r, (rec_rates, crop) in enumerate(zip(rates, crops, strict=True)):
            for c, (fs, keep) in enumerate(zip(rec_rates, crop, strict=True)):
                groups.setdefault((fs, keep), []).append((r, c))
        resampled: list[list[np.ndarray | None]] = [[None] * len(rec) for rec in recordings]
        for (fs, keep), members in groups.items():
            stack = np.stack([recordings[r][c][:keep] for r, c in members])
            stack = unit_peak_if_huge(self._fill_gaps(stack, members, fs))  # values near the float64 limit
            out = resample(stack, fs, target)
            for (r, c), row in zip(members, out, strict=True):
                resampled[r][c] = row
        arrays = []
        for channels in resampled:
            common = min(ch.size for ch in channels)  # channels from different rates: cut to the shortest
            arrays.append(np.stack([ch[:common] for ch in channels]))
        return arrays, full_lengths

    def _warn_high_rates(self, rates: list[list[float]]) -> None:
        target = self.sampling_rate
        new = sorted({fs for rec in rates for fs in rec if fs >= HIGH_RATE_FACTOR * target} - _HIGH_RATES_WARNED)
        if not new:
            return
        _HIGH_RATES_WARNED.update(new)
        listed = ", ".join(_fmt_rate(fs) for fs in new)
        logger.warning(
            f"Channels at {listed} are resampled to the model rate of {_fmt_rate(target)}: everything above "
            f"{target / 2:g} Hz (the new Nyquist frequency) is removed, i.e. {1 - target / max(new):.1%} of the "
            "bandwidth at the highest of these rates (EMG bursts, pacemaker spikes, high-frequency ECG detail). "
            "To keep such content, feed a derived slow signal instead (e.g. the EMG envelope: rectified and "
            "low-pass filtered). This warning is shown once per rate."
        )

    def _filter_reach(self, fs: float) -> int:
        """Input samples on each side that one resampled sample depends on (polyphase FIR half-length)."""
        if fs == self.sampling_rate:
            return 0
        up, down = resample_ratio(fs, self.sampling_rate)
        return math.ceil(10 * max(up, down) / up) + 2

    def _fill_gaps(self, stack: np.ndarray, members, fs: float) -> np.ndarray:
        finite = np.isfinite(stack)
        if finite.all():
            return stack
        bad_rows = np.flatnonzero(~finite.all(axis=1))
        max_gap = int(math.floor(self.max_gap_seconds * fs + 1e-9))
        for i in bad_rows:
            r, c = members[i]
            row = stack[i]
            n_inf = int(np.isinf(row).sum())
            if n_inf:
                raise ValueError(
                    f"recording {r}, channel {c} contains {n_inf} infinite value(s) (+/-inf). "
                    "Infinities usually mean an overflow or a decoding/unit error, so they are not "
                    "interpolated silently. Fix the source, or replace them with NaN to have them treated "
                    "as missing samples."
                )
            try:
                stack[i] = fill_missing(row[None], max_gap, sampling_rate=fs)[0]
            except ValueError as err:
                message = str(err).replace("channel 0", f"recording {r}, channel {c}", 1)
                raise ValueError(message) from None
        return stack

    # ------------------------------------------------------------------------------------------
    # Windows and cleaning at the model rate
    # ------------------------------------------------------------------------------------------
    def _make_windows(self, arrays, full_lengths, long_input):
        """-> list of (recording index, [C, l] window with l <= window_length)."""
        window = self.window_length
        windows = []
        truncated = []
        for r, arr in enumerate(arrays):
            length = arr.shape[1]
            if long_input == "truncate":
                if full_lengths[r] > window:
                    truncated.append((r, full_lengths[r]))
                windows.append((r, arr[:, :window]))
                continue
            starts = list(range(0, length, window))
            for s in starts:
                piece = arr[:, s : s + window]
                if piece.shape[1] < window and s > 0 and piece.shape[1] < self._min_samples():
                    continue  # trailing remainder shorter than min_duration_seconds
                windows.append((r, piece))
        if truncated:
            rate = self.sampling_rate
            detail = ", ".join(
                f"recording {r}: {n / rate:.2f} s, dropped {(n - window) / rate:.2f} s"
                for r, n in truncated[:_MAX_LISTED]
            )
            more = f" and {len(truncated) - _MAX_LISTED} more" if len(truncated) > _MAX_LISTED else ""
            logger.warning(
                f"{len(truncated)} recording(s) are longer than the model window of {window / rate:g} s "
                f"({window} samples at {_fmt_rate(rate)}); only the first {window / rate:g} s were kept "
                f"({detail}{more}). "
                'Pass long_input="split" to cover whole recordings with consecutive windows.'
            )
        return windows

    def _clean(self, series: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Clean equal-length series [K, l] at the model rate; -> (cleaned, flat flags [K], levels [K]).

        The level is log10 of the mean |x| that normalisation divides out (after detrending and smoothing, in the
        input's units): the one thing about a window that the scalograms no longer carry.
        """
        reference = np.mean(np.abs(series - series.mean(axis=-1, keepdims=True)), axis=-1)
        x = repair_jumps(series, self.jump_percentile)
        x = detrend(x)
        x = gaussian_smooth(x, self.smoothing_sigma_seconds * self.sampling_rate)
        mav = np.mean(np.abs(x), axis=-1)
        flat = mav <= _FLAT_RTOL * reference + _FLAT_ATOL
        level = np.log10(np.maximum(mav, LEVEL_FLOOR))
        x = normalize_mean_abs(x)
        x[flat] = 0.0
        return x, flat, level

    # ------------------------------------------------------------------------------------------
    # Main entry point
    # ------------------------------------------------------------------------------------------
    def __call__(
        self,
        signals,
        sampling_rate=None,
        channel_types=None,
        channel_names=None,
        return_tensors=None,
        long_input: str | None = None,
        device=None,
        return_signal: bool = False,
        return_rhythm: bool = False,
    ) -> BatchFeature:
        """Preprocess one recording ``[C, T]``, a batch ``[B, C, T]`` or a list of recordings.

        Args:
            signals: a numpy array, torch tensor or nested list; a list of recordings may mix channel
                counts and lengths, and a recording may be a list of 1-D channels of different lengths
                (channels sampled at different rates).
            sampling_rate: required. One number (Hz), a per-channel list, or for a batch one entry per
                recording (each a number or a per-channel list).
            channel_types: optional list of types from `CHANNEL_TYPES` per channel (for a batch: one list
                per recording, or one list shared by all); returned per output row.
            channel_names: optional list of channel names, same layout as `channel_types`.
            return_tensors: `None`/`"np"` (numpy arrays) or `"pt"` (torch tensors).
            long_input: overrides `self.long_input` (`"truncate"` or `"split"`) for this call.
            device: torch device for the CWT with `cwt_backend="torch"`; with `return_tensors="pt"` the
                outputs are placed there.
            return_signal: also return `signal_values` float32 `[N, C_max, window_length - 2]`, the cleaned
                65 Hz signal aligned with the CWT time axis (a reconstruction target for pretraining).
            return_rhythm: also return `rhythm_values` float32 `[N, C_max, RHYTHM_SIZE]`, each channel window's
                rhythm descriptor (`rhythm_features`, from the window before cleaning), which a zero-shot head with
                `config.zero_shot_rhythm_size` reads.
        """
        long_input = self.long_input if long_input is None else long_input
        windows, types, names = self._prepare(signals, sampling_rate, channel_types, channel_names, long_input)
        size = len(windows) * max(w.shape[0] for _, w in windows) * 3 * (self.window_length - 2) * len(self.scales) * 4
        if size > MAX_CALL_BYTES:
            raise ValueError(
                f"This input makes {len(windows):,} model windows, whose scalograms would take {size / 2**30:.1f} GiB "
                f"at once (more than {MAX_CALL_BYTES / 2**30:g} GiB). Use feature_extractor.iter_batches(...) or "
                "normwear_hf.inference.embed, which build them a batch at a time; and check the sampling rate "
                "(a rate given in the wrong unit multiplies the length)."
            )
        return self._featurize(
            windows, types, names, self._tensor_kind(return_tensors), long_input, device, return_signal, return_rhythm
        )

    def recording_levels(self, signals, sampling_rate=None, channel_types=None) -> list[np.ndarray]:
        """Per recording, each channel's ``input_levels`` averaged over its ``long_input="split"`` windows.

        Only resampling and cleaning run (no wavelet transform), so the levels of a data set cost a fraction of
        its features; they equal what ``embed(..., pooling="probe_level")`` appends.
        """
        windows, _, _ = self._prepare(signals, sampling_rate, channel_types, None, "split")
        sums: dict[int, np.ndarray] = {}
        counts: dict[int, int] = {}
        for recording, window in windows:
            level = self._clean(window)[2]
            sums[recording] = sums.get(recording, 0.0) + level
            counts[recording] = counts.get(recording, 0) + 1
        return [sums[r] / counts[r] for r in sorted(sums)]

    def iter_batches(
        self,
        signals,
        sampling_rate=None,
        channel_types=None,
        channel_names=None,
        max_windows: int = 8,
        return_tensors=None,
        device=None,
        progress: bool | None = None,
        desc: str = "windows",
        max_channel_windows: int | None = MAX_CHANNEL_WINDOWS,
        return_windows: bool = False,
        return_rhythm: bool = False,
    ) -> Iterator[BatchFeature]:
        """The output of ``__call__(..., long_input="split")`` in pieces of at most ``max_windows`` windows.

        ``max_channel_windows`` also caps the channels summed over a piece's windows (never below one window):
        the model's memory grows with channels x windows, so 300-channel recordings go a window or two at a time
        where 4-channel ones go ``max_windows`` at a time.

        Resampling runs once over whole recordings (so the windows are exactly those of one call), but scalograms
        are only built ``max_windows`` at a time: memory stays bounded for hours of signal, where one call would
        hold every window's scalogram at once (about 0.3 MB per channel and window). ``recording_index`` keeps
        counting recordings of the whole input. ``progress`` shows a bar over the pieces (default: when there is
        more than one). ``return_windows`` adds ``raw_windows``: the piece's windows as a list of ``[C, l]`` float64
        arrays at the model rate before cleaning (gaps filled), which signal-quality checks need; ``return_rhythm``
        adds ``rhythm_values`` as ``__call__`` does.
        """
        for name, value in (("max_windows", max_windows), ("max_channel_windows", max_channel_windows)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise ValueError(f"{name} must be a positive integer, got {value!r}.")
        # checks and resampling happen now, so bad input fails at the call, not at the first next()
        windows, types, names = self._prepare(signals, sampling_rate, channel_types, channel_names, "split")
        tensor_kind = self._tensor_kind(return_tensors)
        bounds = _piece_bounds([w.shape[0] for _, w in windows], max_windows, max_channel_windows)
        show = progress if progress is not None else len(bounds) > 1

        def pieces() -> Iterator[BatchFeature]:
            from tqdm.auto import tqdm

            for start, stop in tqdm(bounds, desc=desc, unit="batch", disable=not show):
                features = self._featurize(
                    windows[start:stop], types, names, tensor_kind, "split", device, return_rhythm=return_rhythm
                )
                if return_windows:
                    features["raw_windows"] = [window for _, window in windows[start:stop]]
                yield features

        return pieces()

    def _prepare(self, signals, sampling_rate, channel_types, channel_names, long_input: str):
        """Checks, resampling to the model rate and windowing: -> (windows, channel types, channel names)."""
        self._check_choice("long_input", long_input, LONG_INPUT_MODES)
        recordings, is_batch = self._parse_signals(signals)
        widest = max(len(channels) for channels in recordings)
        if widest > MAX_CHANNELS:
            raise ValueError(
                f"A recording has {widest:,} channels; NormWear takes at most {MAX_CHANNELS} per recording (each is "
                "encoded separately, then fused). Pass channel subsets as separate recordings, or check that the "
                "array is [channels, time] and not [time, channels]."
            )
        rates = self._parse_rates(sampling_rate, recordings, is_batch)
        types = self._parse_labels(channel_types, recordings, is_batch, "channel_types", CHANNEL_TYPES)
        names = self._parse_labels(channel_names, recordings, is_batch, "channel_names")
        arrays, full_lengths = self._to_model_rate(recordings, rates, long_input)
        return self._make_windows(arrays, full_lengths, long_input), types, names

    def _featurize(
        self,
        windows,
        types,
        names,
        tensor_kind: str,
        long_input: str,
        device=None,
        return_signal: bool = False,
        return_rhythm: bool = False,
    ) -> BatchFeature:
        """Clean, differentiate and transform ``windows`` (``(recording, [C, l])`` pairs) into model inputs."""
        window = self.window_length
        n_rows = len(windows)
        n_channels = [w.shape[0] for _, w in windows]
        c_max = max(n_channels)
        lengths = np.array([w.shape[1] for _, w in windows], dtype=np.int64)
        row_of = np.repeat(np.arange(n_rows), n_channels)
        chan_of = np.concatenate([np.arange(c) for c in n_channels])

        signals_65, flat_all, level_all = self._clean_windows(windows, n_channels, lengths)
        if flat_all.any():
            self._warn_flat(flat_all, row_of, chan_of, windows, names)
        planes = derivative_planes(signals_65.astype(np.float32))  # [K, 3, W-2]
        input_values = self._scalograms(planes, row_of, chan_of, (n_rows, c_max), tensor_kind, device)

        input_levels = np.zeros((n_rows, c_max), dtype=np.float32)
        input_levels[row_of, chan_of] = level_all
        data = {
            "input_values": input_values,
            "channel_mask": (np.arange(c_max)[None, :] < np.array(n_channels)[:, None]).astype(np.int64),
            "time_mask": (np.arange(window - 2)[None, :] + 2 < lengths[:, None]).astype(np.int64),
            "input_levels": input_levels,
        }
        if return_signal:
            signal_values = np.zeros((n_rows, c_max, window - 2), dtype=np.float32)
            signal_values[row_of, chan_of] = planes[:, 0]
            data["signal_values"] = signal_values
        if return_rhythm:
            data["rhythm_values"] = rhythm_values([w for _, w in windows], self.sampling_rate)
        if long_input == "split":
            data["recording_index"] = np.array([r for r, _ in windows], dtype=np.int64)
        if tensor_kind == "pt":
            import torch

            target = device if device is not None else (input_values.device if _is_tensor(input_values) else None)
            for key, value in list(data.items()):
                tensor = value if _is_tensor(value) else torch.from_numpy(np.ascontiguousarray(value))
                data[key] = tensor.to(target) if target is not None else tensor
        if types is not None:
            data["channel_types"] = [list(types[r]) for r, _ in windows]
        if names is not None:
            data["channel_names"] = [list(names[r]) for r, _ in windows]
        # Tensors are built above; BatchFeature must not try to convert the string lists.
        return BatchFeature(data=data, tensor_type=None)

    def _clean_windows(self, windows, n_channels: list[int], lengths: np.ndarray):
        """Clean every (window, channel) series, equal lengths together: -> the cleaned series ``[K, W]`` (zero
        padded after normalisation), whether each is flat ``[K]`` and its level ``[K]``, K = channels of all rows."""
        n_rows = len(windows)
        signals_65 = np.zeros((sum(n_channels), self.window_length), dtype=np.float64)
        starts = np.concatenate(([0], np.cumsum(n_channels)[:-1]))
        flat_all = np.zeros(signals_65.shape[0], dtype=bool)
        level_all = np.zeros(signals_65.shape[0], dtype=np.float64)
        by_length: dict[int, list[int]] = {}
        for i, length in enumerate(lengths.tolist()):
            by_length.setdefault(length, []).append(i)
        for length, rows in by_length.items():
            if len(rows) == n_rows:
                block = np.concatenate([windows[i][1] for i in rows]) if n_rows > 1 else windows[0][1]
                idx = slice(None)
            else:
                block = np.concatenate([windows[i][1] for i in rows])
                idx = np.concatenate([np.arange(starts[i], starts[i] + n_channels[i]) for i in rows])
            cleaned, flat, level = self._clean(block)
            signals_65[idx, :length] = cleaned  # zero padding after normalisation
            flat_all[idx] = flat
            level_all[idx] = level
        return signals_65, flat_all, level_all

    def _scalograms(self, planes: np.ndarray, row_of, chan_of, rows_channels: tuple[int, int], tensor_kind, device):
        """One batched CWT of every channel's planes ``[K, 3, W-2]``, laid out as ``[N, C_max, 3, W-2, S]``
        (padded channels zero); a torch tensor on ``device`` with the torch backend and ``tensor_kind="pt"``."""
        out_shape = (*rows_channels, 3, self.window_length - 2, len(self.scales))
        dense = len(row_of) == rows_channels[0] * rows_channels[1]  # every row has C_max channels
        if self.cwt_backend != "torch":
            coeffs = cwt_numpy(planes, self.scales)
            if dense:
                return coeffs.reshape(out_shape)
            input_values = np.zeros(out_shape, dtype=np.float32)
            input_values[row_of, chan_of] = coeffs
            return input_values
        import torch

        data = torch.from_numpy(planes)
        if device is not None:
            data = data.to(device)
        coeffs = cwt_torch(data, self.scales)  # [K, 3, W-2, S]
        if dense:
            input_values = coeffs.reshape(out_shape)
        else:
            input_values = coeffs.new_zeros(out_shape)
            input_values[torch.from_numpy(row_of).to(coeffs.device), torch.from_numpy(chan_of).to(coeffs.device)] = (
                coeffs
            )
        return input_values if tensor_kind == "pt" else input_values.cpu().numpy()

    @staticmethod
    def _tensor_kind(return_tensors) -> str:
        value = getattr(return_tensors, "value", return_tensors)
        if value is None or value == "np":
            return "np"
        if value == "pt":
            return "pt"
        raise ValueError(f'return_tensors must be None, "np" or "pt", got {return_tensors!r}.')

    def _warn_flat(self, flat, row_of, chan_of, windows, names) -> None:
        hits = np.flatnonzero(flat)
        parts = []
        for i in hits[:_MAX_LISTED]:
            r = windows[row_of[i]][0]
            c = int(chan_of[i])
            label = f" ({names[r][c]!r})" if names is not None else ""
            parts.append(f"recording {r} channel {c}{label}")
        more = f" and {len(hits) - _MAX_LISTED} more" if len(hits) > _MAX_LISTED else ""
        logger.warning(
            f"{len(hits)} channel window(s) are flat (constant or a straight line), so they carry no signal "
            f"and their wavelet planes are all zero: {', '.join(parts)}{more}. "
            "Check the sensor or drop the channel."
        )


def _piece_bounds(channels: Sequence[int], max_windows: int, max_channel_windows: int | None) -> list[tuple[int, int]]:
    """Consecutive ``(start, stop)`` runs of windows: at most ``max_windows`` windows and, when given, at most
    ``max_channel_windows`` channels in all (a single wider window still forms a piece of its own)."""
    bounds, start, load = [], 0, 0
    for index, count in enumerate(channels):
        full = index - start >= max_windows or (max_channel_windows is not None and load + count > max_channel_windows)
        if index > start and full:
            bounds.append((start, index))
            start, load = index, 0
        load += count
    if channels:
        bounds.append((start, len(channels)))
    return bounds
