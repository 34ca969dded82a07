"""Speech/music-like audio for the analog classes, synthesised because no audio file can be fetched.

The original drove WBFM, AM-DSB and AM-SSB with a recorded talk (44.1 kHz) that has pauses.
A 128-sample frame at 200 kHz sees only 0.64 ms of it, so what matters per frame is the audio's
level (loud, quiet, silent), its band (speech below ~8 kHz, music up to the 44.1 kHz Nyquist) and
its short-time shape. Each frame's audio is therefore a sum of `audio_tones` sinusoids:

- voiced speech: harmonics of a pitch f0 ~ U(85, 255) Hz under three random formants;
- unvoiced speech (fricatives): random tones in 1.5-8 kHz (a noise band);
- music: three notes (f0 log-uniform 65-1050 Hz), eight harmonics each with 1/k roll-off;
- silence (pauses, probability `audio_silence_prob`): pink background `audio_silence_db` below
  speech.

A sum of sinusoids is closed-form for the three operations the modulators need, so nothing is
filtered or resampled and nothing has edge transients: the waveform, its exact Hilbert transform
(analytic signal, for SSB) and its running integral (for FM). Tones stay below half of
`audio_rate_hz`, as audio sampled at that rate would.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from amrcomp.data.params import GeneratorParams

VOICED, UNVOICED, MUSIC, SILENCE = 0, 1, 2, 3
VOICED_SHARE = 0.75  # of the speech (non-music, non-silent) frames; the rest are fricatives
NOTES, NOTE_HARMONICS = 3, 8


@dataclass(frozen=True)
class Tones:
    """Audio of n frames as a(t) = sum_k amp[:, k] * cos(2*pi*freq[:, k]*t + phase[:, k])."""

    freq: np.ndarray  # (n, K) Hz, > 0
    amp: np.ndarray  # (n, K) >= 0 (zero for unused tones)
    phase: np.ndarray  # (n, K) rad
    kind: np.ndarray  # (n,) VOICED / UNVOICED / MUSIC / SILENCE

    def _arg(self, t: np.ndarray) -> np.ndarray:
        """Every tone's phase at t, (n, K, len(t)), in float32: its trig is ~10x faster and exact
        enough."""
        w = (2 * np.pi * self.freq).astype(np.float32)[:, :, None]
        return w * t.astype(np.float32)[None, None, :] + self.phase.astype(np.float32)[:, :, None]

    @staticmethod
    def _mix(weights: np.ndarray, trig: np.ndarray) -> np.ndarray:
        """sum_k weights[:, k] * trig[:, k, :], accumulated in float32 and returned as float64."""
        return np.matmul(weights[:, None, :].astype(np.float32), trig)[:, 0, :].astype(np.float64)

    def waveform(self, t: np.ndarray) -> np.ndarray:
        """a(t) at times t (seconds): (n, len(t)) float."""
        return self._mix(self.amp, np.cos(self._arg(t)))

    def analytic(self, t: np.ndarray) -> np.ndarray:
        """a(t) + j*Hilbert{a}(t): the exact one-sided (upper sideband) signal."""
        arg = self._arg(t)
        return self._mix(self.amp, np.cos(arg)) + 1j * self._mix(self.amp, np.sin(arg))

    def integral(self, t: np.ndarray) -> np.ndarray:
        """Running integral of a(t) (up to a constant), in units of seconds: FM's phase source."""
        return self._mix(self.amp / (2 * np.pi * self.freq), np.sin(self._arg(t)))

    def filtered(self, response: np.ndarray) -> Tones:
        """Tones passed through a linear filter with complex response (n, K) at their
        frequencies."""
        return Tones(
            self.freq, self.amp * np.abs(response), self.phase + np.angle(response), self.kind
        )

    def rms(self) -> np.ndarray:
        """Long-term RMS of each frame's audio (tones are incommensurate on average)."""
        return np.sqrt(0.5 * np.sum(self.amp**2, axis=1))


def preemphasis(tones: Tones, tau_s: float, audio_rate_hz: float) -> Tones:
    """FM broadcast pre-emphasis (1 + j w tau) with a high shelf near Nyquist, as GNU Radio's
    fm_preemph."""
    if tau_s <= 0:
        return tones
    w = 2 * np.pi * tones.freq
    w_high = 2 * np.pi * 0.925 * audio_rate_hz / 2
    return tones.filtered((1 + 1j * w * tau_s) / (1 + 1j * w / w_high))


def speech_music(n: int, rng: np.random.Generator, params: GeneratorParams) -> Tones:
    """Audio tones for n frames, each frame voiced/unvoiced speech, music or a pause."""
    k = params.audio_tones
    top = 0.45 * params.audio_rate_hz
    p_silence, p_music = params.audio_silence_prob, params.audio_music_prob
    p_speech = 1.0 - p_silence - p_music
    kind = rng.choice(
        4, size=n, p=[p_speech * VOICED_SHARE, p_speech * (1 - VOICED_SHARE), p_music, p_silence]
    )
    freq = np.empty((n, k))
    amp = np.empty((n, k))
    for code, make in (
        (VOICED, _voiced),
        (UNVOICED, _unvoiced),
        (MUSIC, _music),
        (SILENCE, _silence),
    ):
        rows = np.flatnonzero(kind == code)
        if rows.size:
            freq[rows], amp[rows] = make(rows.size, k, top, rng)
    amp = np.where(freq < top, amp, 0.0)
    phase = rng.uniform(-np.pi, np.pi, size=(n, k))
    level_db = rng.normal(0.0, params.audio_level_std_db, size=n) + np.where(
        kind == SILENCE, params.audio_silence_db, 0.0
    )
    rms = np.sqrt(0.5 * np.sum(amp**2, axis=1))
    amp *= (params.audio_rms * 10 ** (level_db / 20) / np.maximum(rms, 1e-30))[:, None]
    return Tones(freq=freq, amp=amp, phase=phase, kind=kind)


def _voiced(n: int, k: int, top: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Pitch harmonics shaped by three formants and a -6 dB/octave glottal tilt."""
    f0 = rng.uniform(85.0, 255.0, size=(n, 1))
    freq = f0 * np.arange(1, k + 1)[None, :] * (1 + 0.003 * rng.standard_normal((n, k)))
    formants = np.stack(
        [rng.uniform(300, 900, n), rng.uniform(900, 2500, n), rng.uniform(2300, 3500, n)], axis=1
    )
    bandwidth = np.array([90.0, 120.0, 180.0])
    envelope = np.sum(
        1 / np.sqrt(1 + ((freq[:, :, None] - formants[:, None, :]) / bandwidth) ** 2), axis=2
    )
    return freq, envelope * (f0 / freq)


def _unvoiced(
    n: int, k: int, top: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """A noise band of random tones (Rayleigh amplitudes make it Gaussian-like)."""
    freq = rng.uniform(1500.0, min(8000.0, top), size=(n, k))
    return freq, rng.rayleigh(1.0, size=(n, k))


def _music(n: int, k: int, top: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Three notes with harmonic series; tones beyond NOTES*NOTE_HARMONICS are left silent."""
    f0 = np.exp(rng.uniform(np.log(65.0), np.log(1050.0), size=(n, NOTES)))
    harmonic = np.arange(1, NOTE_HARMONICS + 1)
    freq = (f0[:, :, None] * harmonic).reshape(n, -1)
    amp = (rng.uniform(0.3, 1.0, size=(n, NOTES))[:, :, None] / harmonic).reshape(n, -1)
    used = min(k, freq.shape[1])
    out_f = rng.uniform(50.0, top, size=(n, k))
    out_a = np.zeros((n, k))
    out_f[:, :used], out_a[:, :used] = freq[:, :used], amp[:, :used]
    return out_f, out_a


def _silence(n: int, k: int, top: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Pink room noise: log-uniform tones with 1/sqrt(f) amplitudes."""
    freq = np.exp(rng.uniform(np.log(30.0), np.log(top), size=(n, k)))
    return freq, rng.rayleigh(1.0, size=(n, k)) / np.sqrt(freq / 30.0)
