"""The reachability summary of the voice-key target (bench.voicekey_reachability)."""
import pytest

from bench.voicekey_reachability import LEVELS, detector_stats, report, summary


def rows(blind_factor: float, n: int = 40) -> list[dict]:
    """Synthetic rows at every SNR: ideal times 2..80 ms, blind ones ``blind_factor`` x."""
    out = []
    for snr in (20.0, 10.0, 5.0):
        for i in range(n):
            t = 0.002 * (i + 1)
            out.append({"item": i, "hardship": "walking", "snr_db": snr, "phoneme": "a",
                        "language": "en", "word": "RED", "ideal": t,
                        "word_template": blind_factor * t, "generic": 2 * blind_factor * t,
                        "detector_error": [-0.030 if i == 0 else 0.001] * len(LEVELS)})
    return out


def test_detector_stats_count_misses_and_early_onsets():
    s = detector_stats([0.001, -0.030, None, 0.004])
    assert s["misses"] == 1 and s["early_20ms"] == 1
    assert s["p95_ms"] == float("inf") and s["median_ms"] == pytest.approx(17.0)


@pytest.mark.parametrize("factor,verdict", [(1.5, "| no |"), (1.1, "| not excluded |")])
def test_the_verdict_follows_the_best_blind_observer(factor, verdict):
    s = summary(rows(factor))
    assert s["10.0"]["all"]["word_template_vs_ideal"] == pytest.approx(factor)
    result = {"eval": {"n_items": 40, "templates_from": "dev", "n_noise_only": 5,
                       "thresholds": [10.0] * len(LEVELS), "summary": s}}
    text = report(result)
    line = next(ln for ln in text.splitlines() if ln.startswith("| 10 | 40 |"))
    assert line.endswith(verdict)
    assert "1 (2.5 %)" in text          # one early onset of 40 in the detector's table
