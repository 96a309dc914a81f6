"""Write Stroop data files the way a PsychoPy Builder experiment writes them, with PsychoPy's
own data handlers (``ExperimentHandler`` + ``TrialHandler``, wide CSV), for the analysis tests.

Run as a script in its own process (the analysis tests must not import PsychoPy):

    python tests/builder_data.py OUT_DIR

The experiment mimics a Builder ``.psyexp``: an instructions routine outside any loop
(``instr_resp``), a practice loop ``practice`` (4 trials), an outer loop ``blocks`` over a
conditions file with the column ``walk`` (stand / treadmill) and an inner loop ``trials``
over 8 Stroop trials (``word``, ``ink``, ``congruent`` 1/0, ``corrAns``). The keyboard
component ``key_resp`` gives ``key_resp.keys`` (``None`` without a key), ``key_resp.corr``
and ``key_resp.rt`` (seconds, only when a key was pressed), exactly as Builder's generated
code calls ``thisExp.addData``. Participant and session come from the dialog's ``expInfo``
(``participant``, ``session`` '001'). RTs are drawn from a seeded ex-Gaussian.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

INKS = ("red", "green", "blue", "yellow")
KEYS = {"red": "d", "green": "f", "blue": "j", "yellow": "k"}
PARTICIPANTS = ("101", "102", "103", "104", "105", "106")


def stroop_list(rng: np.random.Generator, n: int) -> list[dict]:
    rows = []
    for i in range(n):
        ink = INKS[i % 4]
        congruent = int(i % 2 == 0)
        word = ink if congruent else INKS[(INKS.index(ink) + 1 + (i // 2) % 3) % 4]
        rows.append({"word": word.upper(), "ink": ink, "congruent": congruent,
                     "corrAns": KEYS[ink]})
    return rows


def run_participant(out: Path, pid: str, seed: int) -> Path:
    from psychopy import data

    rng = np.random.default_rng(seed)
    exp_info = {"participant": pid, "session": "001", "date": "2026-12-02_10h00.00.000",
                "expName": "stroop_builder", "psychopyVersion": "2026.2.5",
                "frameRate": 60.0}
    stem = out / f"{pid}_stroop_builder_2026-12-02_10h00.00.000"
    this_exp = data.ExperimentHandler(name="stroop_builder", extraInfo=exp_info,
                                      dataFileName=str(stem), saveWideText=False,
                                      savePickle=False)
    # instructions routine outside any loop: Builder ends it with nextEntry()
    this_exp.addData("instr_resp.keys", "space")
    this_exp.addData("instr_resp.rt", 3.2)
    this_exp.nextEntry()

    def trial(loop_cond: dict, walk_shift: float) -> None:
        mu = 0.55 + walk_shift + (0.0 if loop_cond["congruent"] else 0.07)
        rt = rng.normal(mu, 0.05) + rng.exponential(0.12)
        if rt > 1.8:                                  # no key within the window
            this_exp.addData("key_resp.keys", None)
            this_exp.addData("key_resp.corr", 0)
        else:
            correct = rng.random() > 0.07
            key = loop_cond["corrAns"] if correct else "k" if loop_cond["corrAns"] != "k" else "d"
            this_exp.addData("key_resp.keys", key)
            this_exp.addData("key_resp.corr", int(correct))
            this_exp.addData("key_resp.rt", float(rt))
        this_exp.addData("trial.started", 1.0)
        this_exp.nextEntry()

    practice = data.TrialHandler(nReps=1, method="random", trialList=stroop_list(rng, 4),
                                 seed=seed, name="practice", extraInfo=exp_info)
    this_exp.addLoop(practice)
    for cond in practice:
        trial(cond, 0.0)
    blocks = data.TrialHandler(nReps=2, method="sequential",
                               trialList=[{"walk": "stand"}, {"walk": "treadmill"}],
                               seed=seed, name="blocks", extraInfo=exp_info)
    this_exp.addLoop(blocks)
    shift = {"stand": 0.0, "treadmill": 0.04 + rng.normal(0, 0.01)}
    for block in blocks:
        trials = data.TrialHandler(nReps=1, method="random", trialList=stroop_list(rng, 8),
                                   seed=seed + blocks.thisN, name="trials",
                                   extraInfo=exp_info)
        this_exp.addLoop(trials)
        for cond in trials:
            trial({**cond}, shift[block["walk"]])
        this_exp.nextEntry()   # Builder's nextEntry after the inner loop
    this_exp.saveAsWideText(str(stem) + ".csv", delim=",")
    this_exp.abort()           # no second save at exit
    return Path(str(stem) + ".csv")


def main(out: str) -> None:
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    for i, pid in enumerate(PARTICIPANTS):
        run_participant(folder, pid, seed=100 + i)


if __name__ == "__main__":
    main(sys.argv[1])
