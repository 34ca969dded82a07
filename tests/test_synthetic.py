"""The synthetic RadioML 2016.10a generator: format, determinism, SNR calibration and the
physics of each class."""

from __future__ import annotations

import numpy as np
import pytest

from amrcomp.data import audio, channel, synthetic
from amrcomp.data.synthetic import CLASSES, SNRS, GeneratorParams, generate, modulate

LINEAR = ("BPSK", "QPSK", "8PSK", "PAM4", "QAM16", "QAM64")
ORDER = {"BPSK": 2, "QPSK": 4, "8PSK": 8, "PAM4": 4, "QAM16": 16, "QAM64": 64}


@pytest.fixture(scope="module")
def small():
    """4 frames per block of the full grid, with realised SNRs."""
    return generate(4, 11, return_realised_snr=True)


def test_class_list_and_snr_grid():
    assert CLASSES == (
        "8PSK",
        "AM-DSB",
        "AM-SSB",
        "BPSK",
        "CPFSK",
        "GFSK",
        "PAM4",
        "QAM16",
        "QAM64",
        "QPSK",
        "WBFM",
    )
    assert SNRS == tuple(range(-20, 19, 2)) and len(SNRS) == 20


def test_shapes_counts_and_block_order(small):
    x, labels, snr, _ = small
    assert x.shape == (4 * 11 * 20, 2, 128) and x.dtype == np.float32
    assert labels.dtype == np.int64 and snr.dtype == np.int64
    counts = {(int(a), int(b)): 0 for a in range(11) for b in SNRS}
    for a, b in zip(labels, snr):
        counts[(int(a), int(b))] += 1
    assert set(counts.values()) == {4}
    keys = list(zip(labels.tolist(), snr.tolist()))
    assert keys == sorted(keys), "blocks must be ordered by (class, snr)"


def test_frames_finite_and_l1_normalised(small):
    x = small[0]
    assert np.isfinite(x).all()
    l1 = np.hypot(x[:, 0].astype(np.float64), x[:, 1].astype(np.float64)).sum(axis=1)
    np.testing.assert_allclose(l1, 1.0, atol=1e-5)


def test_same_seed_identical_other_seed_different():
    a = generate(3, 5, classes=("QAM16", "WBFM"), snrs=(0, 10))
    b = generate(3, 5, classes=("QAM16", "WBFM"), snrs=(0, 10))
    c = generate(3, 6, classes=("QAM16", "WBFM"), snrs=(0, 10))
    assert all(u.tobytes() == v.tobytes() for u, v in zip(a, b))
    assert a[0].tobytes() != c[0].tobytes()


def test_block_does_not_depend_on_other_blocks_requested():
    full = generate(3, 9, classes=("BPSK", "GFSK", "AM-SSB"), snrs=(-4, 6))
    alone = generate(3, 9, classes=("GFSK",), snrs=(6,))
    rows = (full[1] == 1) & (full[2] == 6)
    assert full[0][rows].tobytes() == alone[0].tobytes()
    assert (alone[1] == 0).all(), "labels index into the requested class list"


def test_realised_snr_matches_definition(small):
    """per_frame: a digital frame's realised SNR is its label (analog ones follow their audio)."""
    _, labels, snr, realised = small
    digital = ~np.isin(labels, [CLASSES.index(name) for name in synthetic.ANALOG])
    for s in SNRS:
        r = realised[digital & (snr == s)]
        assert abs(r.mean() - s) < 0.5, f"SNR {s}: realised {r.mean():.2f} dB"
    assert "10^(s/10)" in synthetic.snr_definition()


REPORT_SNRS = (-10, 0, 10, 18)


def _realised_by_class(params: GeneratorParams) -> np.ndarray:
    """Mean realised SNR (dB), (class, label in REPORT_SNRS): benchmarks/bench_snr.py's figures."""
    _, labels, snr, realised = generate(40, 5, params, snrs=REPORT_SNRS, return_realised_snr=True)
    blocks = [[(labels == ci) & (snr == s) for s in REPORT_SNRS] for ci in range(len(CLASSES))]
    return np.array([[realised[block].mean() for block in row] for row in blocks])


def test_realised_snr_per_class_under_both_definitions():
    per_frame = _realised_by_class(GeneratorParams())
    digital = [i for i, name in enumerate(CLASSES) if name not in synthetic.ANALOG]
    labels = np.tile(REPORT_SNRS, (len(digital), 1))
    np.testing.assert_allclose(per_frame[digital], labels, atol=0.5)
    original = _realised_by_class(GeneratorParams(snr_definition="original"))
    assert np.ptp(original, axis=0).max() >= 5, f"classes should differ, got {original.round(1)}"
    assert np.all(np.diff(original, axis=1) > 0), f"lower label, lower SNR: {original.round(1)}"


def test_original_definition_uses_the_original_levels():
    """At label 0 the noise amplitude is 1, so with the channel off the realised SNR is the
    modulator's output power at GNU Radio's level: unit for all but AM-SSB (the audio's)."""
    params = GeneratorParams(
        snr_definition="original",
        channel=False,
        audio_silence_prob=0.0,
        audio_music_prob=0.0,
        audio_level_std_db=0.0,
    )
    classes = ("BPSK", "QAM64", "GFSK", "CPFSK", "WBFM", "AM-DSB", "AM-SSB")
    _, labels, _, realised = generate(200, 4, params, classes, (0,), return_realised_snr=True)
    power = {c: np.mean(10 ** (realised[labels == i] / 10)) for i, c in enumerate(classes)}
    power_db = {c: 10 * np.log10(v) for c, v in power.items()}
    for name in classes[:-1]:
        assert abs(power_db[name]) < 0.5, f"{name}: {power_db[name]:.2f} dB"
    ssb = 10 * np.log10(2 * params.audio_rms**2)
    assert abs(power_db["AM-SSB"] - ssb) < 1.0, f"AM-SSB {power_db['AM-SSB']:.2f} dB, not {ssb:.2f}"
    assert "10^(-s/10)" in synthetic.snr_definition(params)


@pytest.mark.parametrize("definition", ["per_frame", "original"])
def test_paused_audio_keeps_its_noise(definition):
    """A pause lowers the audio, not the noise. A paused AM-SSB frame at 18 dB is mostly noise, as
    in the original (not a clean frame after normalisation); a paused AM-DSB or WBFM frame is a
    bare carrier, as strong against the noise as a modulated one (channel off: no fading spread)."""

    def realised(name: str, channel: bool) -> np.ndarray:
        params = GeneratorParams(
            snr_definition=definition, channel=channel, audio_silence_prob=1.0, audio_music_prob=0.0
        )
        return generate(100, 12, params, (name,), (18,), return_realised_snr=True)[3]

    paused = realised("AM-SSB", channel=True)
    assert paused.mean() < 18 - 30, f"mean {paused.mean():.1f} dB"
    assert paused.max() < 18 - 10, f"max {paused.max():.1f} dB"
    unit_power = 18 if definition == "per_frame" else 36  # noise power 10^(-2s/10) in the original
    for name in ("AM-DSB", "WBFM"):
        assert abs(realised(name, channel=False).mean() - unit_power) < 1.0, name


def test_awgn_power_and_realised_snr_helper():
    rng = np.random.default_rng(0)
    signal = rng.standard_normal((2000, 128)) * 3 + 1j * rng.standard_normal((2000, 128))
    for s in (-20, 0, 18):
        noise = channel.awgn(signal, s, rng)
        assert abs(channel.realised_snr_db(signal, noise).mean() - s) < 0.1


def test_frames_are_normalised_signal_plus_noise():
    params = GeneratorParams()
    frames, signal, noise = synthetic.generate_block("QPSK", 4, 5, 3, params)
    np.testing.assert_allclose(
        frames, (signal + noise) / np.abs(signal + noise).sum(axis=1, keepdims=True)
    )
    x = generate(5, 3, params, classes=("QPSK",), snrs=(4,))[0]
    np.testing.assert_allclose(x[:, 0] + 1j * x[:, 1], frames, atol=1e-7)


def test_noise_added_even_without_channel():
    x, _, snr, realised = generate(
        40,
        2,
        GeneratorParams(channel=False),
        classes=("BPSK", "WBFM"),
        snrs=(-10, 10),
        return_realised_snr=True,
    )
    for s in (-10, 10):
        assert abs(realised[snr == s].mean() - s) < 0.5


def test_channel_changes_frames_and_can_be_switched_off():
    rng = np.random.default_rng(1)
    params = GeneratorParams()
    clean = modulate("QPSK", channel.input_length(128, params), rng, params, n_frames=50)
    faded = channel.propagate(clean, 128, np.random.default_rng(2), params)
    direct = channel.propagate(clean, 128, np.random.default_rng(2), GeneratorParams(channel=False))
    assert faded.shape == direct.shape == (50, 128)
    gain = np.sum(faded * direct.conj(), axis=1) / np.sum(np.abs(direct) ** 2, axis=1)
    assert np.std(np.angle(gain)) > 1.0, "random phase per frame"
    assert np.std(np.abs(gain)) > 0.1, "fading changes the gain per frame"


def test_rician_gains_have_unit_power_and_k_factor():
    params = GeneratorParams()
    h = channel.rician_gains(20000, 1, np.zeros(1), np.random.default_rng(3), params)[:, 0, 0]
    assert abs(np.mean(np.abs(h) ** 2) - 1) < 0.05
    los = np.abs(h) ** 2
    k_est = np.sqrt(2 * np.mean(los) ** 2 - np.mean(los**2)) / (
        np.mean(los) - np.sqrt(2 * np.mean(los) ** 2 - np.mean(los**2))
    )
    assert 3.0 < k_est < 5.5  # moment estimator of K (Greenstein et al.)


def test_gray_mapping():
    for name in LINEAR:
        points = synthetic.constellation(name)
        assert len(points) == ORDER[name]
        assert abs(np.mean(np.abs(points) ** 2) - 1) < 1e-12
        dist = np.abs(points[:, None] - points[None, :])
        dmin = dist[dist > 1e-9].min()
        for label in range(len(points)):
            for other in np.flatnonzero(np.isclose(dist[label], dmin)):
                assert bin(label ^ int(other)).count("1") == 1, (
                    f"{name}: neighbours {label} and {other} differ in more than one bit"
                )


def _decide(name: str, samples: np.ndarray) -> tuple[np.ndarray, float]:
    """Nearest constellation point of each sample and the EVM (rms error)."""
    points = synthetic.constellation(name)
    nearest = points[np.argmin(np.abs(samples[:, None] - points[None, :]), axis=1)]
    return nearest, float(np.sqrt(np.mean(np.abs(samples - nearest) ** 2)))


@pytest.mark.parametrize("name", LINEAR)
def test_linear_classes_decode_after_matched_filter(name):
    params = GeneratorParams()
    sps, taps = params.samples_per_symbol, synthetic.rrc_taps(params)
    points = synthetic.constellation(name)
    dmin = np.min(np.abs(points[:, None] - points[None, :])[~np.eye(len(points), dtype=bool)])
    # clean baseband: the matched-filter output at the right phase is the symbol sequence
    mf = np.convolve(
        modulate(name, 6000, np.random.default_rng(4), params), taps[::-1], mode="valid"
    )
    evm, phase = min((_decide(name, mf[p::sps])[1], p) for p in range(sps))
    decided, _ = _decide(name, mf[phase::sps])
    assert evm < 0.05 * dmin, f"{name}: EVM {evm:.3f} at the best phase"
    assert len(np.unique(np.round(decided, 6))) == len(points)
    # generated frames at high SNR with the channel off: same clusters after gain recovery
    x = generate(
        6, 4, GeneratorParams(channel=False, frame_length=1024), classes=(name,), snrs=(18,)
    )[0]
    for frame in x[:, 0] + 1j * x[:, 1]:
        mf = np.convolve(frame, taps[::-1], mode="valid")
        best = None
        for p in range(sps):
            s = mf[p::sps] / np.sqrt(np.mean(np.abs(mf[p::sps]) ** 2))
            for _ in range(3):  # decision-directed gain
                d, _ = _decide(name, s)
                s = s * np.real(np.vdot(s, d)) / np.vdot(s, s).real
            err = _decide(name, s)[1]
            best = err if best is None else min(best, err)
        assert best < 0.3 * dmin, f"{name}: frame EVM {best:.3f} vs dmin {dmin:.3f}"


def test_cpfsk_phase_steps():
    params = GeneratorParams()
    s = modulate("CPFSK", 4000, np.random.default_rng(5), params)
    np.testing.assert_allclose(np.abs(s), 1, atol=1e-12)
    step = np.angle(s[1:] * s[:-1].conj())
    np.testing.assert_allclose(
        np.abs(step), np.pi * params.cpfsk_index / params.samples_per_symbol, atol=1e-9
    )
    sign = np.sign(step).reshape(-1)
    assert 0.3 < np.mean(sign > 0) < 0.7


def test_gfsk_frequency_deviation():
    params = GeneratorParams()
    s = modulate("GFSK", 8000, np.random.default_rng(6), params)
    np.testing.assert_allclose(np.abs(s), 1, atol=1e-12)
    step = np.angle(s[1:] * s[:-1].conj())
    assert np.max(np.abs(step)) <= params.gfsk_sensitivity + 1e-9
    assert np.mean(np.abs(step) > 0.9 * params.gfsk_sensitivity) > 0.3, (
        "runs of equal bits reach full deviation"
    )
    assert 0.4 < np.mean(step > 0) < 0.6
    # symbol-rate sign changes: the smoothed frequency crosses zero only between symbols
    crossings = np.flatnonzero(np.diff(np.sign(step)) != 0)
    assert len(np.unique(crossings % params.samples_per_symbol)) <= 2


@pytest.mark.parametrize("name", ["CPFSK", "GFSK", "WBFM"])
def test_constant_envelope_frames_at_high_snr(name):
    x = generate(20, 8, GeneratorParams(channel=False), classes=(name,), snrs=(18,))[0]
    mag = np.hypot(x[:, 0], x[:, 1])
    assert np.median(mag.std(axis=1) / mag.mean(axis=1)) < 0.15


def test_wbfm_constant_envelope_and_deviation():
    params = GeneratorParams()
    s = modulate("WBFM", 4096, np.random.default_rng(7), params, n_frames=20)
    np.testing.assert_allclose(np.abs(s), 1, atol=1e-6)
    freq_hz = np.angle(s[:, 1:] * s[:, :-1].conj()) * params.sample_rate_hz / (2 * np.pi)
    assert np.percentile(np.abs(freq_hz), 99) > 1000, "audio must deviate the carrier"


def test_am_dsb_has_a_carrier():
    params = GeneratorParams()
    s = modulate("AM-DSB", 2048, np.random.default_rng(8), params, n_frames=50)
    assert np.all(np.abs(s.imag) < 1e-12) and np.all(s.real >= 0)
    carrier = np.abs(s.mean(axis=1)) ** 2 / np.mean(np.abs(s) ** 2, axis=1)
    assert np.median(carrier) > 0.7, "most power is in the carrier (1 + m*a)"


def test_am_ssb_is_one_sided():
    params = GeneratorParams(audio_silence_prob=0.0)
    s = modulate("AM-SSB", 4096, np.random.default_rng(9), params, n_frames=50)
    spec = np.abs(np.fft.fft(s * np.hanning(s.shape[1]), axis=1)) ** 2
    freq = np.fft.fftfreq(s.shape[1])
    positive = spec[:, freq > 0].sum()
    negative = spec[:, freq < 0].sum()
    assert negative < 1e-3 * positive


def test_audio_has_pauses_and_stays_in_band():
    params = GeneratorParams()
    tones = audio.speech_music(4000, np.random.default_rng(10), params)
    silent = tones.kind == audio.SILENCE
    assert abs(silent.mean() - params.audio_silence_prob) < 0.03
    level = 20 * np.log10(tones.rms())
    assert np.median(level[~silent]) - np.median(level[silent]) > 30
    assert np.all(tones.freq[tones.amp > 0] < params.audio_rate_hz / 2)


def test_paused_wbfm_and_am_dsb_frames_look_alike():
    """In a pause both are a bare carrier: the origin of their confusion in the original data."""
    params = GeneratorParams(audio_silence_prob=1.0, audio_music_prob=0.0)
    for name in ("WBFM", "AM-DSB"):
        s = modulate(name, 128, np.random.default_rng(11), params, n_frames=50)
        rotation = np.abs(np.angle(s[:, -1] * s[:, 0].conj()))
        assert np.median(np.abs(s).std(axis=1)) < 0.01 and np.median(rotation) < 0.5, name


def test_params_defaults_and_from_dict():
    p = GeneratorParams()
    assert (p.samples_per_symbol, p.rrc_rolloff, p.gfsk_bt, p.gfsk_sensitivity, p.cpfsk_index) == (
        8,
        0.35,
        0.35,
        0.1,
        0.5,
    )
    assert (p.rician_k, p.doppler_hz, p.fading_sinusoids, p.delay_taps, p.delay_magnitudes) == (
        4.0,
        1.0,
        8,
        (0.0, 0.9, 1.7),
        (1.0, 0.8, 0.3),
    )
    assert (p.cfo_std_hz, p.cfo_max_hz, p.sro_std_hz, p.sro_max_hz, p.sample_rate_hz) == (
        0.01,
        500.0,
        0.01,
        50.0,
        200000.0,
    )
    q = GeneratorParams.from_dict(
        {"channel": False, "delay_taps": [0, 1], "delay_magnitudes": [1, 0.5]}
    )
    assert q.channel is False and q.delay_taps == (0.0, 1.0)
    assert GeneratorParams.from_dict(q.to_dict()) == q
    assert GeneratorParams.from_dict(None) == p
    with pytest.raises(ValueError, match="'doppler'"):
        GeneratorParams.from_dict({"doppler": 2.0})
    with pytest.raises(ValueError, match="equal length"):
        GeneratorParams.from_dict({"delay_taps": [0.0, 1.0]})
    with pytest.raises(ValueError, match="samples_per_symbol"):
        GeneratorParams.from_dict({"samples_per_symbol": 2.5})
    assert p.snr_definition == "per_frame"
    assert GeneratorParams.from_dict({"snr_definition": "original"}).snr_definition == "original"
    allowed = r"dataset\.synthetic\.snr_definition must be one of \['per_frame', 'original'\]"
    with pytest.raises(ValueError, match=allowed + ", got 'fixed'"):
        GeneratorParams.from_dict({"snr_definition": "fixed"})


def test_generate_rejects_bad_requests():
    with pytest.raises(ValueError, match="OFDM"):
        generate(2, 0, classes=("QPSK", "OFDM"))
    with pytest.raises(ValueError, match="integers"):
        generate(2, 0, snrs=(0.5,))
    with pytest.raises(ValueError, match="frames_per_block"):
        generate(0, 0)


def test_preview_writes_one_png_per_class(tmp_path):
    from amrcomp.data.preview import plot_preview

    x, labels, snr = generate(4, 1, classes=("QPSK", "AM-DSB"), snrs=(-10, 0, 18))
    paths = plot_preview(x, labels, snr, ["QPSK", "AM-DSB"], tmp_path / "preview")
    assert [p.name for p in paths] == ["QPSK.png", "AM-DSB.png"]
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in paths)
    assert not [p for p in (tmp_path / "preview").iterdir() if p.name.startswith(".")], (
        "no temporary files left"
    )
