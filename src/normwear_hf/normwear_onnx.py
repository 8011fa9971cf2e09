"""Run an exported NormWear ONNX folder with numpy and onnxruntime only (no torch, transformers or scipy).

``normwear-hf export normwear --onnx --out DIR`` copies this file into DIR. Use it there::

    import numpy as np
    from normwear_onnx import NormWearOnnx

    model = NormWearOnnx("DIR")                                 # int8=True picks encoder.int8.onnx when exported
    vector = model.embed(np.random.randn(2, 2500), sampling_rate=250)            # [D] for one recording
    print(model.zero_shot(np.random.randn(2, 2500), sampling_rate=250))          # when labels were exported

or from the shell: ``python normwear_onnx.py DIR recording.npy --sampling-rate 250``.

The preprocessing re-implements the feature extractor's (resample to the model rate with the same Kaiser
polyphase filter and odd-reflection padding, fill short NaN gaps, 6 s windows, jump repair, detrend, Gaussian
smoothing, mean-|x| normalisation) in numpy, because scipy is a heavy dependency on a phone or a Raspberry Pi;
the Mexican-hat CWT runs as the exported ``frontend.onnx`` graph. A zero-shot head that reads rhythm
(``metadata["zero_shot"]["rhythm_size"] > 0``) also gets each channel window's rhythm descriptor, computed before
cleaning by ``rhythm_features.py`` (the package's own file, which the export copies beside this one), given this
file's numpy versions of the scipy peak finder and Gaussian filter. The export's parity tests hold this file to
the PyTorch pipeline. Apart from that sibling it imports nothing from normwear_hf, so the folder works alone.
"""

from __future__ import annotations

import json
import math
import os
import sys
from fractions import Fraction

import numpy as np

try:  # inside the package
    from . import rhythm_features as _rhythm
except ImportError:  # an exported folder: the copy beside this file (its folder is on sys.path)
    import rhythm_features as _rhythm

LAG_EDGES, RHYTHM_SIZE = _rhythm.LAG_EDGES, _rhythm.RHYTHM_SIZE

__all__ = ["NormWearOnnx", "POOLINGS", "RHYTHM_SIZE", "clean_windows", "resample", "rhythm_descriptor", "rhythm_values"]

POOLINGS = ("recording", "channel", "probe", "cls")
METADATA_NAME = "normwear_onnx.json"
_MAX_DENOMINATOR = 4096  # as the feature extractor: every common wearable rate is exact
_FLAT_RTOL, _FLAT_ATOL = 1e-7, 1e-12
_WINDOWS_PER_RUN = 8


# ----------------------------------------------------------------------------------------------------------------
# Resampling: a numpy re-implementation of scipy.signal.resample_poly(x, up, down, padtype="antireflect")
# ----------------------------------------------------------------------------------------------------------------
def _ratio(orig_rate: float, target_rate: float) -> tuple[int, int]:
    ratio = (Fraction(float(target_rate)) / Fraction(float(orig_rate))).limit_denominator(_MAX_DENOMINATOR)
    if ratio.numerator == 0:
        ratio = Fraction(1, _MAX_DENOMINATOR)
    return ratio.numerator, ratio.denominator


def _lowpass(numtaps: int, cutoff: float) -> np.ndarray:
    """Windowed-sinc low-pass (Kaiser, beta 5) with unit DC gain: the filter resample_poly designs."""
    centred = np.arange(numtaps) - 0.5 * (numtaps - 1)
    taps = cutoff * np.sinc(cutoff * centred) * np.kaiser(numtaps, 5.0)
    return taps / taps.sum()


def _upfirdn_length(taps: int, n_in: int, up: int, down: int) -> int:
    return ((n_in - 1) * up + taps - 1) // down + 1


def resample(x: np.ndarray, orig_rate: float, target_rate: float) -> np.ndarray:
    """Resample the rows of ``x [K, T]`` from ``orig_rate`` to ``target_rate``; ``round(T * target / orig)``
    samples come back (half up), as from the feature extractor."""
    x = np.asarray(x, dtype=np.float64)
    if orig_rate == target_rate:
        return x
    n_in = x.shape[-1]
    n_out = int(math.floor(n_in * float(target_rate) / float(orig_rate) + 0.5))
    if n_in == 1:
        return np.repeat(x, n_out, axis=-1)
    up, down = _ratio(orig_rate, target_rate)
    half = 10 * max(up, down)
    taps = _lowpass(2 * half + 1, 1.0 / max(up, down)) * up
    pre = down - half % down
    skip = (half + pre) // down
    wanted = -(-n_in * up // down)
    post = 0
    while _upfirdn_length(taps.size + pre + post, n_in, up, down) < wanted + skip:
        post += 1
    taps = np.concatenate([np.zeros(pre), taps, np.zeros(post)])
    # odd reflection about the end samples (2 x[0] - x[k]) covers every tap that reaches past an end
    reach = -(-taps.size // up) + 1
    extended = np.pad(x, [(0, 0)] * (x.ndim - 1) + [(reach, reach)], mode="reflect", reflect_type="odd")
    stuffed = np.zeros(extended.shape[:-1] + (extended.shape[-1] * up,))
    stuffed[..., ::up] = extended
    size = 1 << int(math.ceil(math.log2(stuffed.shape[-1] + taps.size - 1)))
    full = np.fft.irfft(np.fft.rfft(stuffed, size, axis=-1) * np.fft.rfft(taps, size), size, axis=-1)
    index = (np.arange(skip, skip + wanted) * down) + reach * up
    y = full[..., index]
    if y.shape[-1] > n_out:
        y = y[..., :n_out]
    elif y.shape[-1] < n_out:
        y = np.pad(y, [(0, 0)] * (y.ndim - 1) + [(0, n_out - y.shape[-1])], mode="edge")
    return y


# ----------------------------------------------------------------------------------------------------------------
# Cleaning, per window as in the feature extractor
# ----------------------------------------------------------------------------------------------------------------
def _interpolate(row: np.ndarray, missing: np.ndarray) -> np.ndarray:
    good = np.flatnonzero(~missing)
    if good.size == 0:
        return np.zeros_like(row)
    out = row.copy()
    bad = np.flatnonzero(missing)
    out[bad] = np.interp(bad, good, row[good])
    return out


def _fill_gaps(row: np.ndarray, max_gap: int, where: str) -> np.ndarray:
    if np.isinf(row).any():
        raise ValueError(f"{where} contains +/-inf; replace such values with NaN to have them treated as missing.")
    missing = np.isnan(row)
    if not missing.any():
        return row
    if missing.all():
        raise ValueError(f"{where} contains no finite value; drop the channel.")
    edges = np.diff(np.concatenate([[0], missing.astype(np.int8), [0]]))
    longest = int((np.flatnonzero(edges == -1) - np.flatnonzero(edges == 1)).max())
    if longest > max_gap:
        raise ValueError(f"{where} has a gap of {longest} missing samples, more than the {max_gap} filled.")
    return _interpolate(row, missing)


def _smooth(x: np.ndarray, sigma: float) -> np.ndarray:
    """scipy.ndimage.gaussian_filter1d(x, sigma, axis=-1) (truncate 4, mode "reflect") in the same arithmetic: the
    same kernel, and each output the centre tap plus the symmetric pairs, outermost first, as scipy sums them (the
    rhythm descriptor's peak finder compares neighbouring samples, so near-ties must come out the same)."""
    if sigma <= 0:
        return x
    radius = int(4.0 * sigma + 0.5)
    kernel = np.exp(-0.5 / (sigma * sigma) * np.arange(-radius, radius + 1) ** 2)
    kernel = kernel / kernel.sum()
    n = x.shape[-1]
    padded = np.pad(x, [(0, 0)] * (x.ndim - 1) + [(radius, radius)], mode="symmetric")
    out = padded[..., radius : radius + n] * kernel[radius]
    for j in range(radius, 0, -1):
        left, right = padded[..., radius - j : radius - j + n], padded[..., radius + j : radius + j + n]
        out += (left + right) * kernel[radius - j]
    return out


def clean_windows(series: np.ndarray, settings: dict) -> tuple[np.ndarray, np.ndarray]:
    """Clean equal-length series ``[K, l]`` at the model rate -> (cleaned, flat flags)."""
    reference = np.mean(np.abs(series - series.mean(axis=-1, keepdims=True)), axis=-1)
    x = series.copy()
    if x.shape[-1] >= 3:
        jumps = np.abs(np.diff(x, axis=-1))
        threshold = np.percentile(jumps, settings["jump_percentile"], axis=-1, keepdims=True)
        bad = np.zeros(x.shape, dtype=bool)
        bad[:, 1:] = jumps > threshold
        x = np.stack([_interpolate(row, mask) if mask.any() else row for row, mask in zip(x, bad)])
    t = np.arange(x.shape[-1], dtype=np.float64) - (x.shape[-1] - 1) / 2.0
    x = x - x.mean(axis=-1, keepdims=True)
    if float(t @ t) > 0:
        x = x - ((x @ t) / float(t @ t))[:, None] * t
    x = _smooth(x, settings["smoothing_sigma_seconds"] * settings["sampling_rate"])
    mav = np.mean(np.abs(x), axis=-1)
    flat = mav <= _FLAT_RTOL * reference + _FLAT_ATOL
    x = np.where((mav > 1e-12)[:, None], x / np.where(mav > 1e-12, mav, 1.0)[:, None], 0.0)
    x[flat] = 0.0
    return x, flat


# ----------------------------------------------------------------------------------------------------------------
# Rhythm descriptor: normwear_hf.rhythm_features (copied beside this file by the export), given numpy versions of
# the scipy peak finder and Gaussian filter it uses in the package, for a zero-shot head exported with
# metadata["zero_shot"]["rhythm_size"] > 0
# ----------------------------------------------------------------------------------------------------------------
def _find_peaks(x: np.ndarray, distance: int | None = None, height: float | None = None) -> np.ndarray:
    """scipy.signal.find_peaks(x, distance=..., height=...)[0]: local maxima (a plateau counts once, at its middle,
    rounded down; none at either end), those at least ``height`` high, then the highest first, each removing
    its neighbours closer than ``distance`` samples."""
    n = x.size
    if n < 3:
        return np.zeros(0, dtype=np.intp)
    starts = np.concatenate([[0], np.flatnonzero(x[1:] != x[:-1]) + 1])  # runs of equal samples
    ends = np.concatenate([starts[1:] - 1, [n - 1]])
    values = x[starts]
    is_peak = np.zeros(starts.size, dtype=bool)
    is_peak[1:-1] = (values[:-2] < values[1:-1]) & (values[2:] < values[1:-1])  # not the first or last run
    peaks = (starts[is_peak] + ends[is_peak]) // 2
    if height is not None:
        peaks = peaks[height <= x[peaks]]
    if distance is None or peaks.size < 2:
        return peaks
    distance = math.ceil(distance)
    keep = np.ones(peaks.size, dtype=bool)
    for j in np.argsort(x[peaks])[::-1]:  # the same (default) sort as scipy's, walked from the highest
        if not keep[j]:
            continue
        k = j - 1
        while k >= 0 and peaks[j] - peaks[k] < distance:
            keep[k] = False
            k -= 1
        k = j + 1
        while k < peaks.size and peaks[k] - peaks[j] < distance:
            keep[k] = False
            k += 1
    return peaks[keep]


def rhythm_descriptor(window: np.ndarray, rate: float) -> np.ndarray:
    """``rhythm_features.rhythm_descriptor`` of one channel window ``[l]`` at the model rate, without scipy."""
    return _rhythm.rhythm_descriptor(window, rate, _find_peaks, _smooth)


def rhythm_values(windows: list[np.ndarray], rate: float) -> np.ndarray:
    """``rhythm_features.rhythm_values``: ``[N, C_max, RHYTHM_SIZE]`` float32 of windows ``[C_i, l_i]``."""
    return _rhythm.rhythm_values(windows, rate, _find_peaks, _smooth)


# ----------------------------------------------------------------------------------------------------------------
# The runtime
# ----------------------------------------------------------------------------------------------------------------
def _onnxruntime():
    try:
        import onnxruntime
    except ImportError:
        raise ImportError(
            'normwear_onnx needs onnxruntime: pip install onnxruntime (or pip install "normwear-hf[onnx]").'
        ) from None
    return onnxruntime


class NormWearOnnx:
    """An exported NormWear folder: embeddings (and zero-shot answers, when exported) from raw recordings."""

    def __init__(self, folder: str | os.PathLike, int8: bool = False, threads: int | None = None) -> None:
        ort = _onnxruntime()
        self.folder = os.fspath(folder)
        path = os.path.join(self.folder, METADATA_NAME)
        if not os.path.isfile(path):
            raise ValueError(f"{self.folder} has no {METADATA_NAME}: export it with normwear-hf export --onnx.")
        with open(path) as handle:
            self.metadata = json.load(handle)
        self.settings = self.metadata["feature_extractor"]
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = int(threads)
        files = self.metadata["files"]
        encoder = files.get("encoder_int8") if int8 else files["encoder"]
        if encoder is None:
            raise ValueError(f"{self.folder} has no int8 encoder; export it with --int8.")

        def session(name: str):
            return ort.InferenceSession(os.path.join(self.folder, name), options, providers=["CPUExecutionProvider"])

        self.frontend = session(files["frontend"])
        self.encoder = session(encoder)
        self.head = session(files["zero_shot_head"]) if files.get("zero_shot_head") else None
        self.labels = None
        self.rhythm_size = 0
        if self.head is not None:
            zero_shot = self.metadata["zero_shot"]
            self.rhythm_size = int(zero_shot.get("rhythm_size", 0))  # exports before rhythm heads lack it
            reads_rhythm = "rhythm_values" in {node.name for node in self.head.get_inputs()}
            if reads_rhythm != bool(self.rhythm_size) or self.rhythm_size not in (0, RHYTHM_SIZE):
                raise ValueError(
                    f"{self.folder}: the zero-shot head reads a rhythm descriptor of {self.rhythm_size} numbers "
                    f"(its graph {'has' if reads_rhythm else 'lacks'} a rhythm_values input) but this wrapper computes "
                    f"{RHYTHM_SIZE}; use the {os.path.basename(__file__)} exported with the folder."
                )
            with np.load(os.path.join(self.folder, files["zero_shot_labels"]), allow_pickle=False) as stored:
                self.text_embeds = stored["text_embeds"].astype(np.float32)
                self.question_embeds = stored["question_embeds"].astype(np.float32)
            self.labels = list(zero_shot["labels"])
            self.temperature = float(zero_shot["temperature"])

    # -- preprocessing ---------------------------------------------------------------------------------------
    def windows(self, signals, sampling_rate, return_rhythm: bool = False):
        """One recording -> (cleaned, zero-padded windows ``[W, C, window_length]`` float32, real samples per window).

        As the feature extractor with ``long_input="split"``: resample every channel to the model rate, cut to the
        shortest channel, consecutive windows (a trailing piece shorter than ``min_duration_seconds`` is dropped),
        each cleaned on its own. ``return_rhythm`` adds a third item, the extractor's ``rhythm_values``
        ``[W, C, RHYTHM_SIZE]``: each channel window's rhythm descriptor, from the window before cleaning."""
        settings = self.settings
        target, window = float(settings["sampling_rate"]), int(settings["window_length"])
        channels = [np.asarray(ch, dtype=np.float64) for ch in signals] if isinstance(signals, (list, tuple)) else None
        if channels is None:
            array = np.asarray(signals, dtype=np.float64)
            if array.ndim == 1:
                array = array[None]
            if array.ndim != 2:
                raise ValueError(f"a recording must be [C, T] or [T], got shape {array.shape}.")
            channels = list(array)
        rates = list(sampling_rate) if isinstance(sampling_rate, (list, tuple, np.ndarray)) else None
        rates = rates or [sampling_rate] * len(channels)
        if len(rates) != len(channels):
            raise ValueError(f"{len(rates)} sampling rates for {len(channels)} channels.")
        resampled = []
        for c, (row, rate) in enumerate(zip(channels, rates)):
            rate = float(rate)
            if not math.isfinite(rate) or rate <= 0:
                raise ValueError(f"channel {c}: the sampling rate must be a positive number of Hz, got {rate!r}.")
            if row.ndim != 1 or row.size / rate < settings["min_duration_seconds"] - 1e-9:
                raise ValueError(
                    f"channel {c}: needs a 1-D signal of at least {settings['min_duration_seconds']:g} s, "
                    f"got {row.size} samples at {rate:g} Hz."
                )
            max_gap = int(math.floor(settings["max_gap_seconds"] * rate + 1e-9))
            row = _fill_gaps(row, max_gap, f"channel {c}")
            resampled.append(resample(row[None], rate, target)[0])
        common = min(row.size for row in resampled)
        stacked = np.stack([row[:common] for row in resampled])
        minimum = max(3, math.ceil(settings["min_duration_seconds"] * target - 1e-9))
        out, lengths, pieces = [], [], []
        for start in range(0, common, window):
            piece = stacked[:, start : start + window]
            if piece.shape[1] < window and start > 0 and piece.shape[1] < minimum:
                continue
            pieces.append(piece)
            cleaned, _ = clean_windows(piece, settings)
            padded = np.zeros((len(channels), window), dtype=np.float32)
            padded[:, : piece.shape[1]] = cleaned
            out.append(padded)
            lengths.append(piece.shape[1])
        if return_rhythm:
            return np.stack(out), np.asarray(lengths), rhythm_values(pieces, target)
        return np.stack(out), np.asarray(lengths)

    def _tokens(self, signals, sampling_rate, rhythm: bool = False):
        """Encoder outputs of every window of one recording, a few windows per run, with the windows' rhythm
        descriptors when ``rhythm`` (else None)."""
        windows, lengths, *rhythm_part = self.windows(signals, sampling_rate, return_rhythm=rhythm)
        descriptors = rhythm_part[0] if rhythm else None
        steps = windows.shape[-1] - 2
        for start in range(0, len(windows), _WINDOWS_PER_RUN):
            batch = windows[start : start + _WINDOWS_PER_RUN]
            (input_values,) = self.frontend.run(None, {"signals": batch})
            time_mask = (np.arange(steps)[None, :] + 2 < lengths[start : start + len(batch), None]).astype(np.int64)
            channel_mask = np.ones(batch.shape[:2], dtype=np.int64)
            hidden, token_mask = self.encoder.run(
                None, {"input_values": input_values, "channel_mask": channel_mask, "time_mask": time_mask}
            )
            yield hidden, token_mask, None if descriptors is None else descriptors[start : start + len(batch)]

    # -- public API ------------------------------------------------------------------------------------------
    def embed(self, signals, sampling_rate, pooling: str = "recording") -> np.ndarray:
        """One recording (``[C, T]``, ``[T]`` or a list of 1-D channels with per-channel rates) -> its embedding.

        Windows are averaged as ``normwear_hf.inference.embed`` does: ``"recording"`` ``[D]``, ``"channel"`` and
        ``"cls"`` ``[C, D]``, ``"probe"`` ``[C * D]``.
        """
        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}.")
        total, count = None, 0
        for hidden, token_mask, _ in self._tokens(signals, sampling_rate):
            if pooling == "cls":
                per_channel = hidden[:, :, 0]
            else:
                mask = token_mask[..., None]
                per_channel = (hidden * mask).sum(axis=2) / np.maximum(mask.sum(axis=2), 1.0)
            total = per_channel.sum(axis=0) if total is None else total + per_channel.sum(axis=0)
            count += hidden.shape[0]
        per_channel = (total / count).astype(np.float32)
        if pooling == "recording":
            return per_channel.mean(axis=0)
        if pooling == "probe":
            return per_channel.reshape(-1)
        return per_channel

    def zero_shot_logits(self, signals, sampling_rate) -> np.ndarray:
        """The exported head's logits ``[windows, labels]`` for every window of one recording (``self.labels``
        order), as the model's ``logits`` on the feature extractor's windows; a head that reads rhythm gets each
        channel window's descriptor (``rhythm_values``) computed here."""
        if self.head is None:
            raise ValueError(
                f'{self.folder} has no zero-shot head: export it with --labels "a,b" from a zero-shot checkpoint.'
            )
        out = []
        for hidden, token_mask, descriptors in self._tokens(signals, sampling_rate, rhythm=bool(self.rhythm_size)):
            inputs = {
                "last_hidden_state": hidden,
                "token_mask": token_mask,
                "question_embeds": self.question_embeds,
                "text_embeds": self.text_embeds,
            }
            if self.rhythm_size:
                inputs["rhythm_values"] = descriptors
            logits, _ = self.head.run(None, inputs)
            out.append(logits)
        return np.concatenate(out)

    def zero_shot(self, signals, sampling_rate) -> list[dict]:
        """Ranked exported labels for one recording: ``[{"label", "score"}, ...]`` (scores sum to 1)."""
        logits = self.zero_shot_logits(signals, sampling_rate)
        scaled = logits.mean(axis=0) / self.temperature
        scores = np.exp(scaled - scaled.max())
        scores /= scores.sum()
        order = np.argsort(-scores, kind="stable")
        return [{"label": self.labels[i], "score": float(scores[i])} for i in order]


def main(argv: list[str] | None = None) -> int:
    """``python normwear_onnx.py DIR FILE.npy --sampling-rate HZ [--pooling P] [--int8]``: print the embedding and,
    when the folder has a zero-shot head, the ranked labels."""
    import argparse

    parser = argparse.ArgumentParser(description="Embed a .npy recording [C, T] with an exported NormWear folder.")
    parser.add_argument("folder")
    parser.add_argument("recording", help=".npy file holding [C, T] or [T]")
    parser.add_argument("--sampling-rate", type=float, required=True)
    parser.add_argument("--pooling", default="recording", choices=POOLINGS)
    parser.add_argument("--int8", action="store_true")
    args = parser.parse_args(argv)
    model = NormWearOnnx(args.folder, int8=args.int8)
    signals = np.load(args.recording, allow_pickle=False)
    vector = model.embed(signals, args.sampling_rate, pooling=args.pooling)
    print(json.dumps({"shape": list(vector.shape), "embedding": np.round(vector.reshape(-1), 6).tolist()}))
    if model.head is not None:
        print(json.dumps({"zero_shot": model.zero_shot(signals, args.sampling_rate)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
