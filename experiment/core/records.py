"""The rows the session writes: one TrialRecord per trial, one BlockRecord per block.

Column names, order, types and units are the contract with ``analysis/`` and are documented
in ``data/README.md`` (the codebook); change all three together. No PsychoPy import.
"""
from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass(frozen=True)
class TrialRecord:
    participant: str
    session: int
    run: int                  # 1 for the first start, +1 for every resume
    experiment: str
    date: str                 # session start, PsychoPy's data.getDateStr() format
    simulated: int            # 1 if a simulated participant responded
    seed: int
    condition_order: str      # e.g. 'stand-backward-forward'
    is_practice: int
    block: int
    condition: str
    block_in_condition: int
    speed_set_kmh: float      # treadmill speed the experimenter was asked to set
    trial_in_block: int
    trial_in_session: int
    word: str
    word_colour: str
    ink: str
    congruency: str
    prev_congruency: str
    correct_response: str     # key, 'buttonN', or for voice the ink name to be said
    response: str             # key, 'buttonN' or 'voice'; '' when no response in the window
    rt_ms: float | None       # None (empty cell) when no response
    correct: int
    timeout: int
    rt_source: str            # keyboard | button | voice-detected
    response_device: str      # keyboard | buttons | voice
    fixation_onset_s: float   # PsychoPy clock, seconds
    stim_onset_s: float       # flip that showed the word, PsychoPy clock, seconds
    iti_s: float
    dropped_frames: int
    accuracy_code: str        # 'auto' (response vs correct_response) or the experimenter's voice code
    audio_file: str           # voice: the trial's WAV in <stem>_audio/ ('' otherwise)
    noise_file: str           # voice: the noise calibration in force ('' otherwise)
    voice_online_rt_ms: float | None  # voice: what the online voice key reported (ms)
    voice_confidence: float | None    # voice: the offline detector's confidence (0-1)
    timestamp: str            # ISO 8601 local time the row was written


@dataclass(frozen=True)
class BlockRecord:
    participant: str
    session: int
    run: int
    is_practice: int
    block: int
    condition: str
    block_in_condition: int
    speed_set_kmh: float
    speed_actual_kmh: float   # as confirmed or corrected by the experimenter at block end
    n_trials: int
    accuracy: float           # proportion correct in the block
    started: str              # ISO 8601
    ended: str


TRIAL_COLUMNS = tuple(f.name for f in fields(TrialRecord))
BLOCK_COLUMNS = tuple(f.name for f in fields(BlockRecord))
