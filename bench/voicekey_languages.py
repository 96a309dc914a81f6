"""The languages of the voice-key benchmark (bench/voicekey.py): which languages of
``stimuli/words.toml`` espeak-ng speaks, with which voice and text, and the initial phoneme
(IPA) of each colour word.

Every language of words.toml is checked (:func:`language_check`); the benchmark uses the
ones that pass and states for the others why not. A language passes if, for each of its
colour words, the text given to espeak-ng (the word itself in lower case, or its reading
in :data:`READINGS` where espeak-ng cannot read the script):

- is transcribed without a switch to another language (espeak-ng marks one as ``(en)``:
  it names a character it cannot read, e.g. a kanji as "Chinese letter" in English);
- gives speech of a plausible length for one word (:data:`WORD_DURATION_S`, at 175 words
  per minute, first to last non-silent sample);
- is transcribed differently from the language's other colour words;

and the language has a voice here (:data:`VOICES`) and initial phonemes for its words
(:data:`INITIAL_PHONEME`), so that the per-phoneme rows stay meaningful.

Found with espeak-ng 1.51: the ``ja`` voice reads kana but names each kanji "Chinese letter"
in English, so Japanese words are spoken from their hiragana readings (a participant says
the reading whatever the script, so this is what a voice key hears). The ``cmn`` voice
looks a character up as pinyin with a tone digit (红 -> ``hong2``) and then reads that
pinyin as English, digit included ("hong two"; espeak-ng issue #1236), so Mandarin words
are spoken by the ``cmn-latn-pinyin`` voice (the same language and dictionary, but the
pinyin is read as pinyin: 红 -> ``X'ong35``).
"""
from __future__ import annotations

import functools
import re
import subprocess
import tomllib
from dataclasses import dataclass
from pathlib import Path

from experiment.simulation.speech import SpeechSynthError, espeak_voice, spoken_form, synthesise

ROOT = Path(__file__).resolve().parents[1]
WORDS_TOML = ROOT / "stimuli" / "words.toml"

#: espeak-ng base voices per words.toml language (an item draws one).
VOICES = {"en": ("en-us", "en-gb"), "de": ("de",), "nl": ("nl",), "fr": ("fr-fr",),
          "es": ("es",), "it": ("it",), "zh": ("cmn-latn-pinyin",), "ja": ("ja",),
          "ko": ("ko",)}

#: Initial phoneme (IPA) of each colour word as its language says it.
INITIAL_PHONEME = {
    ("en", "RED"): "r", ("en", "GREEN"): "g", ("en", "BLUE"): "b", ("en", "YELLOW"): "j",
    ("de", "ROT"): "r", ("de", "GRÜN"): "g", ("de", "BLAU"): "b", ("de", "GELB"): "g",
    ("nl", "ROOD"): "r", ("nl", "GROEN"): "ɣ", ("nl", "BLAUW"): "b", ("nl", "GEEL"): "ɣ",
    ("fr", "ROUGE"): "ʁ", ("fr", "VERT"): "v", ("fr", "BLEU"): "b", ("fr", "JAUNE"): "ʒ",
    ("es", "ROJO"): "r", ("es", "VERDE"): "b", ("es", "AZUL"): "a", ("es", "AMARILLO"): "a",
    ("it", "ROSSO"): "r", ("it", "VERDE"): "v", ("it", "BLU"): "b", ("it", "GIALLO"): "dʒ",
    ("zh", "红"): "x", ("zh", "绿"): "l", ("zh", "蓝"): "l", ("zh", "黄"): "x",
    ("ja", "赤"): "a", ("ja", "緑"): "m", ("ja", "青"): "a", ("ja", "黄"): "k",
    ("ko", "빨강"): "p͈", ("ko", "초록"): "tɕʰ", ("ko", "파랑"): "pʰ", ("ko", "노랑"): "n",
}

#: What the experimenter says (the benchmark's second voice), in the item's language and
#: in the form its voice reads (kana for ja).
EXPERIMENTER_PHRASES = {
    "en": ("okay", "next one", "good", "keep walking"),
    "de": ("okay", "weiter", "gut so", "weiter gehen"),
    "nl": ("oké", "volgende", "goed zo", "blijf lopen"),
    "fr": ("d'accord", "suivant", "bien", "continuez à marcher"),
    "es": ("vale", "siguiente", "bien", "sigue caminando"),
    "it": ("va bene", "il prossimo", "bene", "continua a camminare"),
    "zh": ("好", "下一个", "很好", "继续走"),
    "ja": ("はい", "つぎ", "いいですね", "あるきつづけて"),
    "ko": ("네", "다음", "좋아요", "계속 걸으세요"),
}
#: espeak-ng variants for the experimenter's voice (on the language's first base voice).
EXPERIMENTER_VARIANTS = ("m7", "f2", "m4", "f4")

#: The voice espeak-ng itself names for a language (what a user would pick), shown beside what
#: the benchmark speaks: zh's "cmn" misreads hanzi (experiment.simulation.speech).
NATIVE_VOICE = {"zh": "cmn"}
WORD_DURATION_S = (0.15, 1.2)   # plausible length of one spoken colour word at 175 wpm
_SWITCH = re.compile(r"\(([a-z]{2,3}(?:-[a-z0-9]+)*)\)")


@dataclass(frozen=True)
class WordCheck:
    """One colour word as espeak-ng speaks it.

    ``word``: as displayed (words.toml); ``spoken``: the text espeak-ng is given;
    ``phonemes``: espeak-ng's transcription of ``spoken`` (``-x``, its ASCII phonemes);
    ``displayed_phonemes``: the transcription of the displayed word itself by the language's
    own espeak-ng voice (``cmn`` for zh; equal to ``phonemes`` when that is what the
    benchmark speaks); ``duration_s``: first to last
    non-silent sample of the synthesised word, s; ``problem``: why it fails, '' if it passes.
    """
    word: str
    spoken: str
    phonemes: str
    displayed_phonemes: str
    duration_s: float
    problem: str


@dataclass(frozen=True)
class LanguageCheck:
    """A words.toml language: ``voice`` (espeak-ng base voice, '' if none), its words'
    checks, and ``reason`` ('' if the benchmark speaks it, else why not, one line)."""
    language: str
    voice: str
    words: tuple[WordCheck, ...]
    reason: str

    @property
    def speakable(self) -> bool:
        return not self.reason


def words_table() -> dict[str, list[str]]:
    """{language: its colour words as displayed}, in words.toml order."""
    with open(WORDS_TOML, "rb") as fh:
        table = tomllib.load(fh)
    return {lang: list(table[lang]["colours"].values()) for lang in table}


def espeak_phonemes(text: str, voice: str) -> str:
    """espeak-ng's phoneme transcription (``-x``) of ``text`` in ``voice``, one line."""
    proc = subprocess.run(["espeak-ng", "-q", "-x", "-v", espeak_voice(voice), "--", text],
                          capture_output=True, text=True, timeout=30)
    if proc.returncode != 0:
        raise SpeechSynthError(f"espeak-ng failed for voice {voice!r}, text {text!r}: "
                               f"{(proc.stderr.strip().splitlines() or ['no output'])[-1]}")
    return " ".join(proc.stdout.split())


def espeak_has_voice(language: str) -> bool:
    """True if espeak-ng lists a voice for ``language`` (``espeak-ng --voices=<language>``)."""
    proc = subprocess.run(["espeak-ng", f"--voices={language}"], capture_output=True,
                          text=True, timeout=30)
    return proc.returncode == 0 and len(proc.stdout.strip().splitlines()) > 1


def _word_check(language: str, word: str, voice: str) -> WordCheck:
    spoken = spoken_form(language, word)
    phonemes = espeak_phonemes(spoken, voice)
    as_written = (word.lower(), NATIVE_VOICE.get(language, language))
    displayed = phonemes if (spoken, voice) == as_written else espeak_phonemes(*as_written)
    try:
        w = synthesise(spoken, voice, 175, 50)
        duration = w.offset_s - w.onset_s
    except SpeechSynthError as exc:
        return WordCheck(word, spoken, phonemes, displayed, 0.0, str(exc))
    problem = ""
    if m := _SWITCH.search(phonemes):
        problem = f"espeak-ng reads {spoken!r} by switching to ({m.group(1)}): {phonemes}"
    elif not WORD_DURATION_S[0] <= duration <= WORD_DURATION_S[1]:
        problem = (f"{spoken!r} lasts {duration:.2f} s, not {WORD_DURATION_S[0]}-"
                   f"{WORD_DURATION_S[1]} s")
    elif (language, word) not in INITIAL_PHONEME:
        problem = f"no initial phoneme for {word!r} in INITIAL_PHONEME"
    return WordCheck(word, spoken, phonemes, displayed, duration, problem)


@functools.lru_cache(maxsize=None)
def language_check(language: str) -> LanguageCheck:
    """Whether the benchmark can speak ``language``'s colour words (see the module doc)."""
    words = words_table()[language]
    if language not in VOICES:
        has = espeak_has_voice(language)
        return LanguageCheck(language, "", (), (
            f"espeak-ng has a voice for {language!r} but bench/voicekey_languages.py gives "
            "it none (VOICES)" if has else f"espeak-ng has no voice for {language!r}"))
    voice = VOICES[language][0]
    checks = tuple(_word_check(language, w, voice) for w in words)
    problems = [c.problem for c in checks if c.problem]
    phonemes = [c.phonemes for c in checks]
    if not problems and len(set(phonemes)) < len(phonemes):
        problems = [f"espeak-ng says two colour words alike: {', '.join(phonemes)}"]
    return LanguageCheck(language, voice, checks, "; ".join(problems))


def language_checks() -> list[LanguageCheck]:
    """:func:`language_check` of every words.toml language, in words.toml order."""
    return [language_check(lang) for lang in words_table()]


def benchmark_words() -> list[tuple[str, str]]:
    """(language, word as displayed) of every colour word of the languages that pass
    :func:`language_check`, in words.toml order: the benchmark's words."""
    return [(c.language, w.word) for c in language_checks() if c.speakable for w in c.words]
