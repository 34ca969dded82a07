"""The propagation channel of RadioML 2016.10a (GNU Radio's dynamic_channel_model), vectorised
over frames.

Order as in GNU Radio: sample-rate offset -> carrier-frequency offset -> frequency-selective
Rician fading -> AWGN. Each row of the input is one frame's clean baseband with a few samples of
history; the channel is applied to just that window, which is statistically the same as running
it over the whole stream and cutting the frame out afterwards:

- SRO / CFO are random walks (per-sample std `sro_std_hz` / `cfo_std_hz`, clipped at the max).
  A frame sits at a uniformly random time in a stream of `stream_length` samples, so the walk
  starts from its state at that time, N(0, std^2 * t), then keeps walking across the frame.
  The SRO resamples with 4-point (cubic Lagrange) interpolation; the CFO rotates the phase,
  starting from a uniformly random phase (the frame's random carrier phase).
- Fading: each delay path has its own sum-of-sinusoids Rician process (`fading_sinusoids`
  sinusoids, K = LOS power / scattered power, unit mean power), as GNU Radio's flat_fader. The
  paths are placed at fractional delays by `interp_taps`-tap sinc interpolation, each scaled by
  its magnitude. The process is evaluated at a few knots per frame and linearly interpolated
  (the knots are close enough that the Doppler phase moves < 0.02 rad between them).
- AWGN: complex white Gaussian noise of a given variance per frame; how large it is for an SNR
  label is the generator's choice (`snr_definition()` in `amrcomp.data.synthetic`).

`params.channel = False` skips everything but the noise: frames get no fading, offsets or phase.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from amrcomp.data.params import GeneratorParams

KNOT_PHASE_RAD = 0.02


def _sro_pad(out_len: int, params: GeneratorParams) -> int:
    """Input samples kept on each side for the cubic interpolator and the worst-case SRO drift."""
    span = out_len + params.interp_taps
    return 2 + math.ceil(span * params.sro_max_hz / params.sample_rate_hz)


def input_length(out_len: int, params: GeneratorParams) -> int:
    """Clean samples per frame `propagate` needs to produce `out_len` output samples."""
    return out_len + params.interp_taps - 1 + 2 * _sro_pad(out_len, params)


def propagate(
    x: np.ndarray, out_len: int, rng: np.random.Generator, params: GeneratorParams
) -> np.ndarray:
    """Noiseless channel output (n, out_len) of clean windows x (n, input_length(out_len))."""
    n, width = x.shape
    pad = _sro_pad(out_len, params)
    if width != input_length(out_len, params):
        raise ValueError(
            f"propagate needs {input_length(out_len, params)} input samples per frame, got {width}"
        )
    taps = params.interp_taps
    if not params.channel:
        return x[:, pad + taps - 1 : pad + taps - 1 + out_len]
    m = out_len + taps - 1
    y = _resample(x, pad, m, rng, params)
    phase = _cfo_phase(n, m, rng, params).astype(np.float32)
    y = y * (np.cos(phase) + 1j * np.sin(phase))
    return _multipath(y, out_len, rng, params)


def awgn(signal: np.ndarray, snr_db: float, rng: np.random.Generator) -> np.ndarray:
    """Complex white Gaussian noise with E|n|^2 = (mean |signal|^2 over each frame) /
    10^(snr/10)."""
    return white_noise(signal.shape, frame_power(signal) / 10 ** (snr_db / 10), rng)


def frame_power(x: np.ndarray) -> np.ndarray:
    """Mean |x|^2 of each row, (n, 1), floored: an all-zero frame becomes pure noise, not 0/0."""
    return np.maximum(np.mean(np.abs(x) ** 2, axis=1, keepdims=True), 1e-300)


def white_noise(
    shape: tuple[int, int], variance: np.ndarray | float, rng: np.random.Generator
) -> np.ndarray:
    """Complex white Gaussian noise (n, length), E|n|^2 = variance (per row), half of it in I."""
    n, length = shape
    return np.sqrt(variance / 2) * rng.standard_normal((n, 2 * length)).view(np.complex128)


def apply_channel(
    x: np.ndarray,
    snr_db: float,
    rng: np.random.Generator,
    params: GeneratorParams,
    out_len: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(channel output before noise, noise), each (n, out_len); their sum is the received frame.

    Returned apart so callers can measure the realised SNR (`realised_snr_db`). The noise is
    `awgn`'s, relative to each frame's own power; the generator's SNR definitions are in
    `amrcomp.data.synthetic.noise_variance`.
    """
    out_len = params.frame_length if out_len is None else out_len
    signal = propagate(x, out_len, rng, params)
    return signal, awgn(signal, snr_db, rng)


def realised_snr_db(signal: np.ndarray, noise: np.ndarray) -> np.ndarray:
    """Per-frame 10*log10(sum |signal|^2 / sum |noise|^2), measured before normalisation."""
    return 10 * np.log10(np.sum(np.abs(signal) ** 2, axis=-1) / np.sum(np.abs(noise) ** 2, axis=-1))


def _walk(
    n: int, m: int, std: float, limit: float, stream_length: int, rng: np.random.Generator
) -> np.ndarray:
    """A clipped Gaussian random walk over m samples, picked up at a random time of the stream."""
    start = rng.standard_normal(n) * std * np.sqrt(rng.uniform(0, stream_length, size=n))
    walk = start[:, None] + std * np.cumsum(rng.standard_normal((n, m)), axis=1)
    return np.clip(walk, -limit, limit)


def _resample(
    x: np.ndarray, pad: int, m: int, rng: np.random.Generator, params: GeneratorParams
) -> np.ndarray:
    """Sample-rate offset: read x at drifting positions pad + k + drift_k with cubic
    interpolation."""
    n = x.shape[0]
    offset_hz = _walk(n, m, params.sro_std_hz, params.sro_max_hz, params.stream_length, rng)
    drift = np.cumsum(offset_hz, axis=1) / params.sample_rate_hz
    drift -= drift[:, :1]
    pos = pad + np.arange(m)[None, :] + drift
    base = np.floor(pos).astype(np.int64)
    f = pos - base
    weights = (
        -f * (f - 1) * (f - 2) / 6,
        (f + 1) * (f - 1) * (f - 2) / 2,
        -(f + 1) * f * (f - 2) / 2,
        (f + 1) * f * (f - 1) / 6,
    )
    return sum(w * np.take_along_axis(x, base + k - 1, axis=1) for k, w in enumerate(weights))


def _cfo_phase(n: int, m: int, rng: np.random.Generator, params: GeneratorParams) -> np.ndarray:
    """Carrier phase (n, m): random start plus the integral of the CFO random walk."""
    offset_hz = _walk(n, m, params.cfo_std_hz, params.cfo_max_hz, params.stream_length, rng)
    start = rng.uniform(-np.pi, np.pi, size=(n, 1))
    return start + 2 * np.pi * np.cumsum(offset_hz, axis=1) / params.sample_rate_hz


def interp_filters(params: GeneratorParams) -> np.ndarray:
    """(paths, interp_taps) FIR of each path: magnitude * sinc(tap - delay), as GNU Radio's
    selective fader."""
    delays = np.asarray(params.delay_taps)[:, None]
    mags = np.asarray(params.delay_magnitudes)[:, None]
    return mags * np.sinc(np.arange(params.interp_taps)[None, :] - delays)


def rician_gains(
    n: int, paths: int, times_s: np.ndarray, rng: np.random.Generator, params: GeneratorParams
) -> np.ndarray:
    """Sum-of-sinusoids Rician fading (n, paths, len(times_s)) with unit mean power."""
    count = params.fading_sinusoids
    k = params.rician_k
    wd = 2 * np.pi * params.doppler_hz
    theta = rng.uniform(-np.pi, np.pi, size=(n, paths, 1))
    psi, phi = rng.uniform(-np.pi, np.pi, size=(2, n, paths, count))
    los_angle, los_phase = rng.uniform(-np.pi, np.pi, size=(2, n, paths))
    alpha = (2 * np.pi * np.arange(1, count + 1) - np.pi + theta) / (4 * count)
    t = times_s[None, None, None, :]
    s_i = np.cos(wd * np.cos(alpha)[..., None] * t + psi[..., None])
    s_q = np.sin(wd * np.sin(alpha)[..., None] * t + phi[..., None])
    scatter = (s_i + 1j * s_q).sum(axis=2) / np.sqrt(count)
    los = np.exp(1j * (wd * np.cos(los_angle)[..., None] * times_s + los_phase[..., None]))
    return scatter / np.sqrt(k + 1) + np.sqrt(k / (k + 1)) * los


def _multipath(
    y: np.ndarray, out_len: int, rng: np.random.Generator, params: GeneratorParams
) -> np.ndarray:
    """Sum over paths of fading gain(t) * (path FIR applied to y); y has interp_taps-1 samples of
    history."""
    n = y.shape[0]
    fir = interp_filters(params)
    windows = np.lib.stride_tricks.sliding_window_view(
        y, params.interp_taps, axis=1
    )  # windows[:, i, k] = y[:, i + k]
    reversed_fir = fir[:, ::-1].T  # tap j of a path weighs y[i + taps - 1 - j]
    per_path = (windows.real @ reversed_fir) + 1j * (
        windows.imag @ reversed_fir
    )  # (n, out_len, paths)
    span_rad = 2 * np.pi * params.doppler_hz * out_len / params.sample_rate_hz
    knots = int(min(out_len, 2 + math.ceil(span_rad / KNOT_PHASE_RAD)))
    knot_pos = np.linspace(0, out_len - 1, knots)
    gains = rician_gains(
        n, fir.shape[0], knot_pos / params.sample_rate_hz, rng, params
    )  # (n, paths, knots)
    hat = np.maximum(
        0, 1 - np.abs(np.arange(out_len)[None, :] - knot_pos[:, None]) / (knot_pos[1] - knot_pos[0])
    )
    gain_t = np.swapaxes(
        gains.real @ hat + 1j * (gains.imag @ hat), 1, 2
    )  # (n, out_len, paths), linear in time
    return np.sum(gain_t * per_path, axis=2)
