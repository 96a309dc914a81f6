"""Synthesised spoken words with an exact acoustic onset, for voice-key tests and benchmarks.

Wraps the ``espeak-ng`` command line (apt package ``espeak-ng``). espeak-ng writes digital
silence (int16 zeros) before the speech, so the first non-zero sample of its output is the
exact acoustic onset of the word -- the ground truth a voice key is measured against.
No PsychoPy import.
"""
from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
from scipy.io import wavfile
from scipy.signal import resample_poly

ESPEAK = "espeak-ng"


class SpeechSynthError(RuntimeError):
    """espeak-ng is missing or failed; the message is one line saying how to fix it."""


@dataclass(frozen=True)
class SpokenWord:
    """A synthesised word.

    ``samples``: float64, shape (n,), full scale +-1, at ``rate_hz``; starts with espeak-ng's
    leading silence. ``onset_s``: seconds from sample 0 to the first sample above digital
    silence in espeak-ng's own output (measured before any resampling, so exact to
    1/native_rate_hz). ``offset_s``: the same for the last non-silent sample.
    """
    text: str
    voice: str
    words_per_minute: int
    pitch: int
    rate_hz: int
    native_rate_hz: int
    samples: np.ndarray
    onset_s: float
    offset_s: float


def espeak_available() -> bool:
    """True if the ``espeak-ng`` executable is on PATH."""
    return shutil.which(ESPEAK) is not None


def first_loud_index(samples_int16: np.ndarray) -> int | None:
    """Index of the first sample that is not digital silence (non-zero int16), None if all silent."""
    loud = np.flatnonzero(np.asarray(samples_int16) != 0)
    return int(loud[0]) if loud.size else None


#: Languages of stimuli/words.toml whose espeak-ng voice has another name.
# espeak-ng 1.51's "cmn" voice reads each hanzi as pinyin with a tone digit in English ("hong
# two", espeak-ng issue #1236); "cmn-latn-pinyin", same language and dictionary, reads them right.
ESPEAK_VOICE_NAMES = {"zh": "cmn-latn-pinyin"}

#: What espeak-ng is given for words whose script it does not read: it says every kanji as
#: "Chinese letter", but reads kana, and a participant says the reading whatever the script.
READINGS = {
    ("ja", "赤"): "あか", ("ja", "緑"): "みどり", ("ja", "青"): "あお", ("ja", "黄"): "きいろ",
}


def spoken_form(language: str, word: str) -> str:
    """The text espeak-ng is given for the colour ``word`` of ``language`` (a words.toml
    language): its reading, or the word in lower case."""
    return READINGS.get((language, word), word.lower())


def espeak_voice(voice: str) -> str:
    """The espeak-ng name of ``voice`` (a words.toml language or an espeak-ng voice, with an
    optional ``+variant``): ``"zh+f3"`` -> ``"cmn+f3"``; other names are returned as they are."""
    base, plus, variant = voice.partition("+")
    return ESPEAK_VOICE_NAMES.get(base, base) + plus + variant


def synthesise(text: str, voice: str = "en", words_per_minute: int = 175, pitch: int = 50,
               rate_hz: int | None = None) -> SpokenWord:
    """``text`` spoken by espeak-ng.

    ``voice``: an espeak-ng voice, optionally with a variant (``"en-us"``, ``"de+f3"``,
    ``"nl+klatt"``); ``words_per_minute``: speaking rate (espeak-ng ``-s``, 80-450);
    ``pitch``: 0-99 (espeak-ng ``-p``); ``rate_hz``: output sample rate (default: espeak-ng's
    native 22050 Hz; other rates are resampled with a polyphase filter, the onset stays the
    one measured at the native rate). Raises :class:`SpeechSynthError` (one line) if espeak-ng
    is missing, fails, or produces only silence.
    """
    if not espeak_available():
        raise SpeechSynthError("espeak-ng not found: install it (apt-get install espeak-ng)")
    if not 80 <= words_per_minute <= 450 or not 0 <= pitch <= 99:
        raise SpeechSynthError(f"synthesise: words_per_minute={words_per_minute} must be 80-450 "
                               f"and pitch={pitch} 0-99")
    with tempfile.TemporaryDirectory(prefix="espeak-") as tmp:
        wav = Path(tmp) / "word.wav"
        cmd = [ESPEAK, "-v", espeak_voice(voice), "-s", str(words_per_minute), "-p", str(pitch),
               "-w", str(wav), "--", text]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        if proc.returncode != 0 or not wav.exists():
            msg = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            raise SpeechSynthError(f"espeak-ng failed for voice {voice!r}, text {text!r}: {msg}")
        native_rate, raw = wavfile.read(wav)
    if raw.ndim != 1 or raw.dtype != np.int16:
        raise SpeechSynthError(f"espeak-ng gave unexpected audio ({raw.dtype}, shape {raw.shape})")
    first = first_loud_index(raw)
    if first is None:
        raise SpeechSynthError(f"espeak-ng produced only silence for voice {voice!r}, text {text!r}")
    last = int(np.flatnonzero(raw)[-1])
    samples = raw.astype(np.float64) / 32768.0
    out_rate = native_rate if rate_hz is None else int(rate_hz)
    if out_rate != native_rate:
        ratio = Fraction(out_rate, native_rate)
        samples = resample_poly(samples, ratio.numerator, ratio.denominator)
    return SpokenWord(text=text, voice=voice, words_per_minute=words_per_minute, pitch=pitch,
                      rate_hz=out_rate, native_rate_hz=int(native_rate), samples=samples,
                      onset_s=first / native_rate, offset_s=last / native_rate)


def place_word(word: SpokenWord, lead_s: float) -> tuple[np.ndarray, float]:
    """(samples, onset_s): the word shifted by whole samples so its onset is near ``lead_s``.

    ``onset_s`` is the exact onset of the returned array in seconds from its sample 0
    (it differs from ``lead_s`` by less than half a sample when rates differ).
    """
    if lead_s < 0:
        raise ValueError(f"place_word: lead_s={lead_s} must be >= 0")
    shift = int(round((lead_s - word.onset_s) * word.rate_hz))
    if shift >= 0:
        samples = np.concatenate([np.zeros(shift), word.samples])
    else:
        samples = word.samples[-shift:]
    return samples, word.onset_s + shift / word.rate_hz
