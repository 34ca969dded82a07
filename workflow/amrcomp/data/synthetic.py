"""A synthetic RadioML 2016.10a: same classes, SNR grid, frame format and generation chain, no
GNU Radio.

Why: the study must run without downloading the real file, and a stand-in is only useful if it
is built like the original (its GNU Radio generation script; README.md, *Data*, lists the parts):

- digital: Gray-mapped BPSK, QPSK, 8PSK, PAM4, QAM16, QAM64 from random bits, 8 samples/symbol,
  root-raised-cosine shaping (roll-off 0.35, 11-symbol span); GFSK (BT 0.35, sensitivity 0.1
  rad/sample, Gaussian span 4 symbols) and CPFSK (index 0.5) as continuous-phase signals. Each
  frame is cut at a random offset from a burst of `burst_length` samples past the filter
  transients (random symbol timing and, for the FSKs, random accumulated phase); only the
  symbols that reach the frame are drawn, so the cost does not grow with the burst.
- analog: WBFM (75 kHz deviation, 75 us pre-emphasis), AM-DSB with carrier, 1 + m*tanh(a(t))
  (the soft limiter keeps the envelope positive, as a transmitter's audio processing would),
  and upper-sideband AM-SSB (exact Hilbert transform, suppressed carrier), driven by the
  speech/music-like audio of `amrcomp.data.audio` (which has pauses: a paused WBFM and a paused
  AM-DSB frame are both a bare carrier, which is why the two get confused).
- channel (`amrcomp.data.channel`): SRO and CFO random walks, 3-path Rician fading with
  fractional delays, random phase, then AWGN.
- frames: 128 samples, each divided by its L1 norm sum(|x|), float32 (N, 2, 128), row 0 = I.

SNR (`params.snr_definition`; `snr_definition(params)` says the same for manifests, and
`generate(..., return_realised_snr=True)` / `channel.realised_snr_db` measure it):

- "original" is the original's definition: noise of fixed amplitude A = 10^(-s/10) (E|n|^2 =
  A^2, as GNU Radio's complex noise sources have set it since 2015, gnuradio PR #535) added to
  the channel output of modulators at the original's output level, whatever the frame's power.
  The original's: GNU Radio's digital modulators give unit average power (unit-power
  constellations through a polyphase RRC resampler whose branches have unit DC gain; ours shape
  with unit-energy taps, 1/sps of that power, so this mode scales them by sqrt(sps)); the FSKs
  and WBFM have unit envelope; AM-DSB is 1 + audio. We take the constellations at unit power as
  the dataset's authors describe them (a gr-mapper build that normalises the mean magnitude
  instead would put PAM4 and the QAMs 0.5-1 dB higher). Ours: the AM-SSB level, the audio's
  (`audio_rms`), since the published script multiplies its AM-SSB audio by a 0 Hz float sine,
  which is zero (radioML/dataset issue #19). The realised SNR then differs by class and moves
  with fading and audio, as in the real file: a unit-power class gets 10^(2s/10) times the
  channel's mean gain 1 + 0.8^2 + 0.3^2 (2.4 dB), in dB 2s + 0.5 on average and 5 dB rms with
  the fading; speech on AM-SSB about 11 dB less, and its pauses 45 dB less again.
- "per_frame" (the default; ours) makes the label a power ratio: noise of variance P / 10^(s/10).
  For digital classes P is the mean power of the frame's own noiseless channel output over its
  128 samples, so the realised ratio before L1 normalisation is 10^(s/10) in expectation (about
  0.4 dB rms scatter from the noise's own sample power). For the analog classes P is the power
  the frame would have through its own channel with its audio at the nominal level (WBFM 1,
  AM-DSB 1 + (m*audio_rms)^2, AM-SSB 2*(m*audio_rms)^2), the convention of analog broadcast,
  whose SNR is quoted at a reference modulation level, not at the programme's momentary one.
  Referencing the frame's own power instead would scale the noise down with a pause: a paused
  AM-SSB frame (audio 45 dB down) would come out as a clean frame after normalisation, while in
  the original the noise stays while the audio pauses. So the noise of an analog frame is set
  by the label and its fading, and its realised SNR follows the audio: about s for speech and
  music (spread by their level, `audio_level_std_db`), s - 45 dB for a paused AM-SSB frame.
  WBFM and AM-DSB pauses are a bare carrier at full power, so their realised SNR stays near s.

Reproducibility: each (class, SNR) block draws from its own generator seeded by
(seed, crc32(class name), SNR), so a block's frames depend only on the seed, the parameters and
frames_per_block, not on which other classes or SNRs are generated. The same seed gives
byte-identical output (on the same numpy and BLAS build: float32 trig and matmuls may round
differently elsewhere).
"""

from __future__ import annotations

import math
import zlib
from typing import Callable, Sequence

import numpy as np

from amrcomp.data import audio, channel
from amrcomp.data.channel import apply_channel, realised_snr_db  # re-exported: the lower-level API
from amrcomp.data.importers import RML2016A_CLASSES
from amrcomp.data.params import GeneratorParams

CLASSES: tuple[str, ...] = RML2016A_CLASSES  # the real data set's classes, in its order
SNRS: tuple[int, ...] = tuple(range(-20, 20, 2))
DIGITAL_LINEAR = ("BPSK", "QPSK", "8PSK", "PAM4", "QAM16", "QAM64")
ANALOG = ("AM-DSB", "AM-SSB", "WBFM")
GFSK_SPAN_SYMBOLS = 4  # GNU Radio's gfsk_mod uses 4 * sps Gaussian taps
__all__ = [
    "CLASSES",
    "SNRS",
    "GeneratorParams",
    "generate",
    "modulate",
    "apply_channel",
    "realised_snr_db",
    "snr_definition",
    "constellation",
    "rrc_taps",
]


def snr_definition(params: GeneratorParams | None = None) -> str:
    """How the SNR label relates to the frames under params.snr_definition (kept with the data)."""
    if (params or GeneratorParams()).snr_definition == "original":
        return (
            "SNR label s dB (snr_definition original, the original 2016.10a's): complex white "
            "Gaussian noise of fixed amplitude A = 10^(-s/10), E|n|^2 = A^2, is added to the "
            "channel output of modulators at the original's level (digital constellations at unit "
            "average power, FSK and WBFM at unit envelope, AM-DSB 1 + audio, AM-SSB at the audio's "
            "level), whatever the frame's power: the realised signal-to-noise ratio differs by "
            "class, fading and audio level (about 2s + 2.4 dB for a unit-power class)."
        )
    return (
        "SNR label s dB (snr_definition per_frame): complex white Gaussian noise of variance "
        "P / 10^(s/10) is added to each frame. For digital classes P is the mean power of that "
        "frame's noiseless channel output over its 128 samples, so the realised signal-to-noise "
        "power ratio over a frame, before L1 normalisation, is 10^(s/10) in expectation (it "
        "scatters by about 0.4 dB rms with the noise's own sample power). For AM-DSB, AM-SSB and "
        "WBFM, P is "
        "the power the frame would have through its own channel with its audio at the nominal "
        "level, so the noise does not follow the audio: a paused AM-SSB frame is mostly noise. "
        "The original 2016.10a set the noise amplitude to 10^(-s/10) whatever the signal power "
        "(snr_definition original), so its labels are not per-frame power ratios."
    )


# --- constellations -------------------------------------------------------------------------


def _gray(k: np.ndarray) -> np.ndarray:
    return k ^ (k >> 1)


def _pam_levels(m: int) -> tuple[np.ndarray, np.ndarray]:
    """(level value, Gray label) of an m-level PAM, levels -(m-1)..(m-1) step 2."""
    k = np.arange(m)
    return 2 * k - (m - 1), _gray(k)


def constellation(name: str) -> np.ndarray:
    """Complex points indexed by their Gray bit label, unit mean power."""
    if name in ("BPSK", "PAM4"):
        m = 2 if name == "BPSK" else 4
        value, label = _pam_levels(m)
        points = np.empty(m, complex)
        points[label] = value
    elif name in ("QPSK", "QAM16", "QAM64"):
        side = {"QPSK": 2, "QAM16": 4, "QAM64": 8}[name]
        bits = side.bit_length() - 1
        value, label = _pam_levels(side)
        points = np.empty(side * side, complex)
        points[(label[:, None] << bits) | label[None, :]] = value[:, None] + 1j * value[None, :]
    elif name == "8PSK":
        k = np.arange(8)
        points = np.empty(8, complex)
        points[_gray(k)] = np.exp(2j * np.pi * k / 8)
    else:
        raise ValueError(f"{name!r} has no constellation; linear classes are {DIGITAL_LINEAR}")
    return points / np.sqrt(np.mean(np.abs(points) ** 2))


# --- pulse shapes ---------------------------------------------------------------------------


def rrc_taps(params: GeneratorParams) -> np.ndarray:
    """Root-raised-cosine, span*sps+1 taps, unit energy (so RRC * RRC is Nyquist with unit peak)."""
    sps, beta = params.samples_per_symbol, params.rrc_rolloff
    t = np.arange(-params.rrc_span_symbols * sps / 2, params.rrc_span_symbols * sps / 2 + 1) / sps
    with np.errstate(divide="ignore", invalid="ignore"):
        h = (np.sin(np.pi * t * (1 - beta)) + 4 * beta * t * np.cos(np.pi * t * (1 + beta))) / (
            np.pi * t * (1 - (4 * beta * t) ** 2)
        )
    h[np.isclose(t, 0)] = 1 - beta + 4 * beta / np.pi
    if beta > 0:
        edge = np.isclose(np.abs(t), 1 / (4 * beta))
        h[edge] = (
            beta
            / np.sqrt(2)
            * (
                (1 + 2 / np.pi) * np.sin(np.pi / (4 * beta))
                + (1 - 2 / np.pi) * np.cos(np.pi / (4 * beta))
            )
        )
    return h / np.sqrt(np.sum(h**2))


def gaussian_frequency_taps(params: GeneratorParams) -> np.ndarray:
    """GFSK frequency pulse: Gaussian (BT, 4-symbol span, unit sum) convolved with a 1-symbol
    rectangle."""
    sps = params.samples_per_symbol
    ntaps = GFSK_SPAN_SYMBOLS * sps
    t = (np.arange(ntaps) - (ntaps - 1) / 2) / sps
    g = np.exp(-0.5 * (t * 2 * np.pi * params.gfsk_bt / np.sqrt(np.log(2))) ** 2)
    return np.convolve(g / g.sum(), np.ones(sps))


# --- modulators: each returns (n, n_samples) complex clean baseband ----------------------------


def _timing(
    n: int, n_samples: int, rng: np.random.Generator, params: GeneratorParams
) -> np.ndarray:
    """Sample offset of each frame inside its symbol period, from a uniform cut point in the burst.

    The frame is cut at a uniform offset from a burst of `burst_length` samples; with i.i.d.
    symbols only the offset modulo the symbol period changes the frame's statistics, and only
    the symbols reaching the cut window can affect it, so only those are drawn.
    """
    cut = rng.integers(0, max(params.burst_length, n_samples) - n_samples + 1, size=n)
    return cut % params.samples_per_symbol


def _shape(symbols: np.ndarray, taps: np.ndarray, sps: int) -> np.ndarray:
    """Pulse-shape symbols (n, S) with an interpolating FIR, keeping only fully supported samples.

    Polyphase form: output[m*sps + r] = sum_j taps[r + j*sps] * symbols[m - j], one matmul.
    """
    span = -(-len(taps) // sps)
    poly = np.zeros(span * sps)
    poly[: len(taps)] = taps
    poly = poly.reshape(span, sps)[::-1]  # row i multiplies symbols[m - (span - 1 - i)]
    windows = np.lib.stride_tricks.sliding_window_view(
        symbols, span, axis=1
    )  # (n, S - span + 1, span)
    if np.iscomplexobj(symbols):
        out = (windows.real @ poly) + 1j * (windows.imag @ poly)
    else:
        out = windows @ poly
    return out.reshape(symbols.shape[0], -1)


def _cut(wave: np.ndarray, offset: np.ndarray, n_samples: int) -> np.ndarray:
    return np.take_along_axis(wave, offset[:, None] + np.arange(n_samples)[None, :], axis=1)


def _linear(
    name: str, n: int, n_samples: int, rng: np.random.Generator, params: GeneratorParams
) -> np.ndarray:
    points = constellation(name)
    sps, taps = params.samples_per_symbol, rrc_taps(params)
    offset = _timing(n, n_samples, rng, params)
    n_sym = -(-(n_samples + sps) // sps) + -(-len(taps) // sps)
    symbols = points[rng.integers(0, len(points), size=(n, n_sym))]
    return _cut(_shape(symbols, taps, sps), offset, n_samples)


def _frequency_shift_keyed(
    name: str, n: int, n_samples: int, rng: np.random.Generator, params: GeneratorParams
) -> np.ndarray:
    sps = params.samples_per_symbol
    offset = _timing(n, n_samples, rng, params)
    if name == "GFSK":
        pulse = gaussian_frequency_taps(params)
        nrz = (
            2.0 * rng.integers(0, 2, size=(n, -(-(n_samples + sps) // sps) + -(-len(pulse) // sps)))
            - 1
        )
        step = params.gfsk_sensitivity * _shape(nrz, pulse, sps)
    else:
        nrz = 2.0 * rng.integers(0, 2, size=(n, -(-(n_samples + sps) // sps))) - 1
        step = np.pi * params.cpfsk_index / sps * np.repeat(nrz, sps, axis=1)
    phase = _cut(np.cumsum(step, axis=1), offset, n_samples) + rng.uniform(
        -np.pi, np.pi, size=(n, 1)
    )
    return np.exp(1j * phase)


def _analog(
    name: str, n: int, n_samples: int, rng: np.random.Generator, params: GeneratorParams
) -> np.ndarray:
    tones = audio.speech_music(n, rng, params)
    t = np.arange(n_samples) / params.sample_rate_hz
    if name == "AM-DSB":
        return np.maximum(1 + params.am_modulation_index * np.tanh(tones.waveform(t)), 0).astype(
            complex
        )
    if name == "AM-SSB":
        return params.am_modulation_index * tones.analytic(t)
    emphasised = audio.preemphasis(tones, params.wbfm_tau_s, params.audio_rate_hz)
    phase = 2 * np.pi * params.wbfm_deviation_hz * emphasised.integral(t)
    return np.exp(1j * (phase + rng.uniform(-np.pi, np.pi, size=(n, 1))))


MODULATORS: dict[str, Callable[..., np.ndarray]] = {
    **{name: _linear for name in DIGITAL_LINEAR},
    "GFSK": _frequency_shift_keyed,
    "CPFSK": _frequency_shift_keyed,
    **{name: _analog for name in ANALOG},
}


def modulate(
    name: str,
    n_samples: int,
    rng: np.random.Generator,
    params: GeneratorParams | None = None,
    n_frames: int | None = None,
) -> np.ndarray:
    """Clean baseband before the channel: (n_samples,) complex, or (n_frames, n_samples) if
    n_frames is given."""
    params = params or GeneratorParams()
    if name not in MODULATORS:
        raise ValueError(f"unknown modulation {name!r}; the generator knows {list(CLASSES)}")
    out = MODULATORS[name](name, 1 if n_frames is None else n_frames, n_samples, rng, params)
    return out[0] if n_frames is None else out


# --- the data set -----------------------------------------------------------------------------


def block_rng(seed: int, name: str, snr: int) -> np.random.Generator:
    """The generator of one (class, SNR) block: independent of the other blocks requested."""
    return np.random.default_rng([int(seed), zlib.crc32(name.encode()), int(snr) % 2**32])


def original_level(name: str, params: GeneratorParams) -> float:
    """Amplitude factor from `modulate`'s output to the original's (GNU Radio's) level.

    Only the linear digital classes differ: GNU Radio's RRC resampler has unit DC gain per
    branch, so its output keeps the constellation's unit power, where our unit-energy taps give
    1/samples_per_symbol of it.
    """
    return math.sqrt(params.samples_per_symbol) if name in DIGITAL_LINEAR else 1.0


def nominal_power(name: str, params: GeneratorParams) -> float:
    """Mean |modulator output|^2 of an analog class with its audio at the nominal level audio_rms.

    WBFM has unit envelope whatever the audio; AM-DSB is carrier plus sidebands (tanh passes an
    audio-level signal almost unchanged); AM-SSB is the analytic signal, twice the audio's power.
    """
    audio_power = (params.am_modulation_index * params.audio_rms) ** 2
    return {"WBFM": 1.0, "AM-DSB": 1.0 + audio_power, "AM-SSB": 2.0 * audio_power}[name]


def noise_variance(
    name: str, snr: int, clean: np.ndarray, signal: np.ndarray, params: GeneratorParams
) -> np.ndarray | float:
    """E|n|^2 of each frame's noise (n, 1), or one value for all, under params.snr_definition.

    clean is the modulator output fed to the channel, signal the channel's noiseless output.
    """
    if params.snr_definition == "original":
        return (10 ** (-snr / 10)) ** 2
    power = channel.frame_power(signal)
    if name in ANALOG:  # the frame's channel gain times the class's nominal power, not its own
        power = power * nominal_power(name, params) / channel.frame_power(clean)
    return power / 10 ** (snr / 10)


def generate_block(
    name: str, snr: int, n: int, seed: int, params: GeneratorParams
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(frames (n, L) complex L1-normalised, noiseless channel output, noise) of one (class, SNR)
    block."""
    rng = block_rng(seed, name, snr)
    length = params.frame_length
    clean = modulate(name, channel.input_length(length, params), rng, params, n_frames=n)
    if params.snr_definition == "original":
        clean = clean * original_level(name, params)
    signal = channel.propagate(clean, length, rng, params)
    noise = channel.white_noise(signal.shape, noise_variance(name, snr, clean, signal, params), rng)
    frames = signal + noise
    return frames / np.sum(np.abs(frames), axis=1, keepdims=True), signal, noise


def generate(
    frames_per_block: int,
    seed: int,
    params: GeneratorParams | None = None,
    classes: Sequence[str] = CLASSES,
    snrs: Sequence[int] = SNRS,
    return_realised_snr: bool = False,
) -> tuple[np.ndarray, ...]:
    """(x float32 (N, 2, L), labels int64 into `classes`, snr int64), blocks ordered by
    (class, snr).

    With return_realised_snr, a fourth array holds each frame's realised SNR in dB, measured before
    normalisation (`channel.realised_snr_db`).
    """
    params = params or GeneratorParams()
    classes, snrs = list(classes), list(snrs)
    unknown = [c for c in classes if c not in MODULATORS]
    if unknown or not classes or len(set(classes)) != len(classes):
        raise ValueError(
            f"dataset.classes must be distinct names from {list(CLASSES)}; "
            f"got {classes} (unknown: {unknown})"
        )
    if not snrs or any(isinstance(s, bool) or not float(s).is_integer() for s in snrs):
        raise ValueError(f"dataset.snrs must be a non-empty list of integers (dB); got {snrs}")
    if (
        isinstance(frames_per_block, bool)
        or int(frames_per_block) != frames_per_block
        or frames_per_block < 1
    ):
        raise ValueError(f"frames_per_block must be a positive integer, got {frames_per_block!r}")
    n, length = int(frames_per_block), params.frame_length
    total = n * len(classes) * len(snrs)
    x = np.empty((total, 2, length), np.float32)
    realised = np.empty(total)
    labels = np.repeat(np.arange(len(classes), dtype=np.int64), n * len(snrs))
    snr = np.tile(np.repeat(np.asarray(snrs, dtype=np.int64), n), len(classes))
    for block, (ci, s) in enumerate((ci, s) for ci in range(len(classes)) for s in snrs):
        frames, signal, noise = generate_block(classes[ci], int(s), n, seed, params)
        rows = slice(block * n, (block + 1) * n)
        x[rows, 0], x[rows, 1] = frames.real, frames.imag
        if return_realised_snr:
            realised[rows] = channel.realised_snr_db(signal, noise)
    return (x, labels, snr, realised) if return_realised_snr else (x, labels, snr)
