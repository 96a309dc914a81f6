"""The word-template back-off benchmark's choice and scoring (bench.voicekey_template_backoff)."""
import numpy as np
import pytest

from bench.voicekey_template_backoff import (LEVELS, Setting, chosen, errors_s, onset_s, report,
                                             split_result, stats)


def row(true_s: float, key_s: float | None, sound_from_s: float, snr: float = 10.0,
        phoneme: str = "r", hardship: str = "walking", first: int = 100) -> dict:
    """A recording whose templates explain frames from ``sound_from_s`` (2 nats per frame,
    a faint first sound) to the voicing 60 ms after the true onset (50 nats per frame)."""
    voicing = true_s + 0.060
    frames = np.arange(first, int(voicing / 0.002) + 1) * 0.002
    llr = np.where(frames >= voicing - 1e-9, 50.0, np.where(frames >= sound_from_s, 2.0, -3.0))
    block = np.broadcast_to(llr, (len(LEVELS), 2, len(llr))).astype(np.float32)
    return {"item": 0, "hardship": hardship, "snr_db": snr, "phoneme": phoneme,
            "language": "en", "true_s": true_s, "key_s": key_s,
            "voicing_s": None if key_s is None else voicing, "ideal_s": 0.010,
            "first": first, "llr": None if key_s is None else block,
            "llr_own": None if key_s is None else block[:, :1]}


def test_backoff_and_hybrid_onsets():
    r = row(true_s=0.5, key_s=0.540, sound_from_s=0.5)
    assert onset_s(r, Setting(1.0, 5.0, 1.0)) == pytest.approx(0.5)
    r["llr_own"] = r["llr_own"] - 2.5            # the oracle template sees the sound fainter
    assert onset_s(r, Setting(1.0, 5.0, 1.0, template="own")) == pytest.approx(0.560)
    # the hybrid takes the template onset only within limit_s before the key's
    assert onset_s(r, Setting(1.0, 5.0, 1.0, limit_s=0.050)) == pytest.approx(0.5)
    assert onset_s(r, Setting(1.0, 5.0, 1.0, limit_s=0.025)) == pytest.approx(0.540)
    # a drift above the first sound's 2 nats: the onset stays at the voicing
    assert onset_s(r, Setting(1.0, 5.0, 2.5)) == pytest.approx(0.560)
    missed = row(true_s=0.5, key_s=None, sound_from_s=0.5)
    assert onset_s(missed, Setting(1.0, 5.0, 1.0)) is None
    assert errors_s([missed], "key") == [None]


def test_stats_against_the_ideal_observer():
    rows = [row(0.5, 0.5 + 0.001 * i, 0.5) for i in range(20)]
    s = stats(rows, "key")
    assert s["n"] == 20 and s["p95_ms"] == pytest.approx(19.0)
    assert s["vs_ideal"] == pytest.approx(1.9) and s["early_20ms"] == 0


def test_the_choice_never_allows_more_early_onsets_than_the_key():
    # the key is 45 ms late on a faint first sound; in one recording a breath 150 ms before
    # the word looks like speech to the templates: a drift below the first sound's evidence
    # reaches back to it (early)
    rows = [row(0.5, 0.545, 0.5) for _ in range(40)] + [row(0.5, 0.545, 0.35)]
    s = chosen(rows, hybrid=False)
    assert stats(rows, s)["early_20ms"] == 0
    assert s.drift > 2.0        # so the plain back-off stays at the voicing, later than the key
    h = chosen(rows, hybrid=True)
    assert h.limit_s >= 0.045 and h.drift < 2.0    # moves the key back to the faint sound ...
    assert stats(rows, h)["early_20ms"] == 0       # ... and not to the breath
    assert stats(rows, h)["p95_ms"] == pytest.approx(0.0, abs=1e-6)


def test_report_has_a_line_per_snr_and_setting():
    rows = [row(0.5, 0.52, 0.5, snr=snr, hardship=h) for snr in (10.0, 5.0)
            for h in ("walking", "inhalation") for _ in range(5)]
    plain, hybrid = Setting(1.0, 5.0, 1.0), Setting(1.0, 5.0, 1.0, 0.05)
    own = Setting(1.0, 5.0, 1.0, template="own")
    result = {"plain": plain.__dict__, "hybrid": hybrid.__dict__, "own": own.__dict__,
              "splits": {"eval": {"n_items": 1, "templates_from": "dev",
                                  "summary": split_result(rows, plain, hybrid, own)}}}
    text = report(result)
    assert "| 10 | all | 10 |" in text and "| 5 | inhalation | 5 |" in text
    assert "at most 50 ms before the key" in text
    assert "| /r/ | 10 |" in text
