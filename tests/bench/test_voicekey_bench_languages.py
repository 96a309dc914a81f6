"""The voice-key benchmark's test set (bench/voicekey.py, bench/voicekey_languages.py): every
language of stimuli/words.toml that espeak-ng speaks is in it, balanced and seeded; a
language that cannot be spoken is named with the reason. Fast: item lists and espeak-ng
transcriptions only, no detection."""
from __future__ import annotations

import dataclasses
import subprocess
import sys
import tomllib
from collections import Counter

import pytest

from bench import voicekey as vk
from bench import voicekey_languages as vl
from experiment.simulation import speech
from experiment.simulation.speech import espeak_available
from experiment.core.stimulus_set import STIMULI_DIR

pytestmark = pytest.mark.skipif(not espeak_available(), reason="needs espeak-ng")


def words_toml() -> dict[str, list[str]]:
    with open(STIMULI_DIR / "words.toml", "rb") as fh:
        table = tomllib.load(fh)
    return {lang: list(table[lang]["colours"].values()) for lang in table}


def espeak_ng_lists_a_voice(language: str) -> bool:
    out = subprocess.run(["espeak-ng", f"--voices={language}"], capture_output=True,
                         text=True, check=True).stdout
    return len(out.strip().splitlines()) > 1     # a header line, then one line per voice


@pytest.fixture()
def fresh_checks():
    vl.language_check.cache_clear()
    yield
    vl.language_check.cache_clear()


@pytest.mark.parametrize("split", ["dev", "eval"])
def test_items_cover_every_language_espeak_ng_speaks(split):
    table = words_toml()
    items = vk.make_items(vk.SPLITS[split])
    spoken_languages = {it.language for it in items}
    checks = {c.language: c for c in vl.language_checks()}
    assert set(checks) == set(table)                   # every language is checked ...
    for lang, words in table.items():
        if not espeak_ng_lists_a_voice(lang):
            assert not checks[lang].speakable and checks[lang].reason, lang   # ... and named
            continue
        # a language espeak-ng has a voice for is left out only for a failed speech check,
        # never for a gap in the benchmark's own tables
        assert lang in spoken_languages or "(" in checks[lang].reason, (lang, checks[lang].reason)
        if lang in spoken_languages:
            assert {it.word for it in items if it.language == lang} == set(words)
    # this espeak-ng speaks all nine shipped languages (kanji via their kana readings)
    assert spoken_languages == set(table)
    for it in items:
        assert it.word in table[it.language] and it.phoneme == vl.INITIAL_PHONEME[(it.language, it.word)]
        assert it.voice.split("+")[0] in vl.VOICES[it.language]


@pytest.mark.parametrize("split", ["dev", "eval"])
def test_items_are_balanced_seeded_and_a_reduced_run_is_a_prefix(split):
    full = vk.SPLITS[split]
    items = vk.make_items(full)
    assert items == vk.make_items(full)
    counts = Counter((it.language, it.word) for it in items)
    assert len(set(counts.values())) == 1 and len(counts) == len(vk.colour_words())
    assert {it.voice.partition("+")[2] for it in items} <= set(full.variants)
    reduced = vk.reduced_split(full, 2, 12)
    assert reduced.n_items == 2 * len(counts) and reduced.n_noise_only == 12
    assert vk.make_items(reduced) == items[: reduced.n_items]
    # the experimenter (second voice) speaks the item's language
    for it in items:
        assert it.hard.experimenter_text in vl.EXPERIMENTER_PHRASES[it.language]
        assert it.hard.experimenter_voice.split("+")[0] == vl.VOICES[it.language][0]


def test_dev_and_eval_differ_in_voices_and_seeds():
    dev, ev = vk.SPLITS["dev"], vk.SPLITS["eval"]
    assert not set(dev.variants) - {""} & set(ev.variants) - {""}
    assert dev.seed != ev.seed


def test_an_unbalanced_split_is_refused():
    bad = dataclasses.replace(vk.SPLITS["eval"], n_items=len(vk.colour_words()) + 1)
    with pytest.raises(ValueError, match="not a multiple"):
        vk.make_items(bad)


def test_kanji_without_readings_are_named_as_unspeakable(monkeypatch, fresh_checks):
    for word in words_toml()["ja"]:
        monkeypatch.delitem(speech.READINGS, ("ja", word))
    check = vl.language_check("ja")
    assert not check.speakable and "switching to (en)" in check.reason
    assert "ja" not in {lang for lang, _ in vk.colour_words()}
    section = "\n".join(vk.languages_section(vl.language_checks()))
    assert "| ja | no: espeak-ng reads" in section and "Not spoken" in section


def test_the_cmn_voice_misreads_characters_but_cmn_latn_pinyin_speaks_them(fresh_checks):
    check = vl.language_check("zh")
    assert check.speakable and check.voice == "cmn-latn-pinyin"
    for w in check.words:
        assert w.spoken == w.word and "(en)" in w.displayed_phonemes and "(" not in w.phonemes


def test_a_language_without_a_voice_here_is_named(monkeypatch, fresh_checks):
    monkeypatch.delitem(vl.VOICES, "ko")
    check = vl.language_check("ko")
    assert not check.speakable and "gives it none" in check.reason


def test_per_language_rows():
    def row(lang, err_ms, snr):
        return {"item": 0, "hardship": "walking", "language": lang, "word": "W", "phoneme": "b",
                "snr_db": snr, "true_s": 1.0,
                "ours_s": None if err_ms is None else 1.0 + err_ms / 1000,
                "threshold_s": None, "ours_snr_db": snr, "evidence_5_s": 0.004,
                "evidence_10_s": 0.010}
    rows = [row(lang, e, snr) for snr in vk.SNRS_DB
            for lang, errs in (("fr", (2.0, -30.0, 4.0)), ("ko", (10.0, None, 40.0)))
            for e in errs]
    summary = vk.summarise({"rows": rows, "noise_only": []})
    fr, ko = (summary["by_language"]["10.0"][k]["ours"] for k in ("fr", "ko"))
    assert (fr["n"], fr["early_20ms"], fr["misses"]) == (3, 1, 0)
    assert (fr["median_ms"], fr["p95_ms"]) == pytest.approx((4.0, 30.0))
    assert (ko["misses"], ko["late_20ms"], ko["p95_ms"]) == (1, 1, float("inf"))
    table = "\n".join(vk.language_table(summary))
    assert "| 10 | fr | 3 | 4.0 | 30.0 | 10.0 | 3.00 | 0 | 1 / 0 |" in table


def test_bad_reduction_is_a_one_line_error():
    proc = subprocess.run([sys.executable, "-m", "bench.voicekey", "--per-word", "0"],
                          capture_output=True, text=True)
    assert proc.returncode != 0
    assert proc.stderr.strip().splitlines()[-1].endswith("--per-word must be at least 1")
