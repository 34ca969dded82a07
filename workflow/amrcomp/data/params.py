"""Every knob of the synthetic generator, in a module of its own: the generator and the audio and
channel models all read it, and none of them is imported by it."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

SNR_DEFINITIONS = ("per_frame", "original")  # see amrcomp.data.synthetic.snr_definition


@dataclass(frozen=True)
class GeneratorParams:
    """Every knob of the generator; defaults are the original GNU Radio generator's values."""

    samples_per_symbol: int = 8
    rrc_rolloff: float = 0.35
    rrc_span_symbols: int = 11
    gfsk_bt: float = 0.35
    gfsk_sensitivity: float = 0.1  # rad per sample at full deviation
    cpfsk_index: float = 0.5
    sample_rate_hz: float = 200000.0
    audio_rate_hz: float = 44100.0  # audio band limit = 0.45 * this
    wbfm_deviation_hz: float = 75000.0
    wbfm_tau_s: float = 75e-6  # pre-emphasis time constant; 0 switches it off
    am_modulation_index: float = 1.0  # the original's "1 + audio"
    rician_k: float = 4.0
    doppler_hz: float = 1.0
    fading_sinusoids: int = 8
    delay_taps: tuple[float, ...] = (0.0, 0.9, 1.7)
    delay_magnitudes: tuple[float, ...] = (1.0, 0.8, 0.3)
    interp_taps: int = 8
    cfo_std_hz: float = 0.01
    cfo_max_hz: float = 500.0
    sro_std_hz: float = 0.01
    sro_max_hz: float = 50.0
    stream_length: int = (
        80000  # samples of one original run (10k symbols at 8 sps): how far the walks wander
    )
    burst_length: int = 1024  # digital: samples per burst a frame is cut from at a random offset
    channel: bool = True
    snr_definition: str = "per_frame"  # one of SNR_DEFINITIONS: what the SNR label sets
    frame_length: int = 128
    audio_tones: int = 24
    audio_rms: float = 0.2
    audio_level_std_db: float = 6.0
    audio_silence_prob: float = 0.3
    audio_silence_db: float = -45.0
    audio_music_prob: float = 0.2

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.type == "bool":
                if not isinstance(value, (bool, np.bool_)):
                    raise ValueError(
                        f"generator parameter {f.name} must be true or false, got {value!r}"
                    )
            elif f.type == "int":
                if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                    raise ValueError(
                        f"generator parameter {f.name} must be a positive integer, got {value!r}"
                    )
            elif f.type == "float":
                if (
                    isinstance(value, bool)
                    or not isinstance(value, (int, float, np.number))
                    or not math.isfinite(value)
                ):
                    raise ValueError(
                        f"generator parameter {f.name} must be a finite number, got {value!r}"
                    )
            elif f.type == "tuple[float, ...]":
                try:
                    object.__setattr__(self, f.name, tuple(float(v) for v in value))
                except (TypeError, ValueError):
                    raise ValueError(
                        f"generator parameter {f.name} must be a list of numbers, got {value!r}"
                    ) from None
        if self.snr_definition not in SNR_DEFINITIONS:
            raise ValueError(
                f"dataset.synthetic.snr_definition must be one of {list(SNR_DEFINITIONS)}, "
                f"got {self.snr_definition!r}"
            )
        if len(self.delay_taps) != len(self.delay_magnitudes) or not self.delay_taps:
            raise ValueError(
                f"delay_taps {list(self.delay_taps)} and "
                f"delay_magnitudes {list(self.delay_magnitudes)} "
                "must be non-empty and of equal length"
            )
        if min(self.delay_taps) < 0 or max(self.delay_taps) > self.interp_taps - 1:
            raise ValueError(
                f"delay_taps must lie in [0, interp_taps - 1 = {self.interp_taps - 1}] samples, "
                f"got {list(self.delay_taps)}"
            )
        if not 0 <= self.rrc_rolloff <= 1:
            raise ValueError(f"rrc_rolloff must be in [0, 1], got {self.rrc_rolloff}")
        if self.samples_per_symbol < 2:
            raise ValueError(f"samples_per_symbol must be >= 2, got {self.samples_per_symbol}")
        probs = (self.audio_silence_prob, self.audio_music_prob)
        if min(probs) < 0 or sum(probs) > 1:
            raise ValueError(
                f"audio_silence_prob and audio_music_prob must be >= 0 with sum <= 1, got {probs}"
            )
        positive = (
            "sample_rate_hz",
            "audio_rate_hz",
            "gfsk_bt",
            "gfsk_sensitivity",
            "cpfsk_index",
            "wbfm_deviation_hz",
            "am_modulation_index",
            "audio_rms",
        )
        for name in positive:
            if getattr(self, name) <= 0:
                raise ValueError(
                    f"generator parameter {name} must be > 0, got {getattr(self, name)}"
                )
        for name in (
            "rician_k",
            "doppler_hz",
            "cfo_std_hz",
            "cfo_max_hz",
            "sro_std_hz",
            "sro_max_hz",
            "wbfm_tau_s",
            "audio_level_std_db",
        ):
            if getattr(self, name) < 0:
                raise ValueError(
                    f"generator parameter {name} must be >= 0, got {getattr(self, name)}"
                )

    @classmethod
    def from_dict(cls, values: Mapping[str, Any] | None) -> GeneratorParams:
        """Parameters from config (`dataset.synthetic`); unknown keys are an error, not ignored."""
        values = dict(values or {})
        known = {f.name for f in dataclasses.fields(cls)}
        for key in values:
            if key not in known:
                raise ValueError(
                    f"unknown generator parameter {key!r} in dataset.synthetic; "
                    f"known: {sorted(known)}"
                )
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form (tuples as lists), for manifests."""
        return {
            k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()
        }
