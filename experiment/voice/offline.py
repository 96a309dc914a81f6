"""Rerun speech-onset detection on every saved trial recording of a session.

    python -m experiment.voice_offline SESSION_FOLDER [--out FILE] [--force]

SESSION_FOLDER is a participant's folder (``<data>/<participant>``, holding
``<stem>_session.json`` and the recordings folder ``<stem>_audio/``). For every session
there that has recordings, each trial's WAV is analysed with ``voicekey.detect_onset``
against the noise calibration that was in force for it (``noise_file`` in the recordings
index), and a NEW CSV ``<stem>_voice_onsets.csv`` is written (``--out`` when the folder
holds one such session). The raw recordings and the index are only read, never written.
An existing output file is kept unless ``--force`` is given.

Output columns: the trial keys (is_practice, block, trial_in_block, trial_in_session),
audio_file, noise_file, rt_ms (detected onset minus the stimulus flip, ms; empty if no
speech), voicing_ms (start of the confirmed voiced run, same zero), confidence (0-1), band,
online_rt_ms and session_rt_ms (what the session's online and full-rate detection found),
detector (version), detector_params (JSON). No PsychoPy import.
"""
from __future__ import annotations

import argparse
import csv
import io
import sys
from pathlib import Path

from experiment.voice import voicekey
from experiment.core.datafile import SIDECAR_SUFFIX, read_rows
from experiment.voice.device import (AUDIO_DIR_SUFFIX, INDEX_NAME, detector_params,
                                     detector_version, onset_rt_ms, read_wav_float)

OUT_SUFFIX = "_voice_onsets.csv"
COLUMNS = ("is_practice", "block", "trial_in_block", "trial_in_session", "audio_file",
           "noise_file", "rt_ms", "voicing_ms", "confidence", "snr_db", "band", "online_rt_ms",
           "session_rt_ms", "detector", "detector_params")


class OfflineError(RuntimeError):
    """One-line message for the command line."""


def session_stems(folder: Path) -> list[str]:
    """Stems of the sessions in ``folder`` that have a recordings index; OfflineError if none."""
    folder = Path(folder)
    if not folder.is_dir():
        raise OfflineError(f"{folder}: no such folder; give a participant's folder (<data>/<participant>)")
    sidecars = sorted(folder.glob(f"*{SIDECAR_SUFFIX}"))
    if not sidecars:
        raise OfflineError(f"{folder}: not a stroop-walk session folder (no *{SIDECAR_SUFFIX}); "
                           "give a participant's folder (<data>/<participant>)")
    stems = [p.name[: -len(SIDECAR_SUFFIX)] for p in sidecars]
    voiced = [s for s in stems if (folder / f"{s}{AUDIO_DIR_SUFFIX}" / INDEX_NAME).is_file()]
    if not voiced:
        raise OfflineError(f"{folder}: its sessions have no voice recordings "
                           f"(no {stems[0]}{AUDIO_DIR_SUFFIX}/{INDEX_NAME}); was the voice device used?")
    return voiced


def _f(value: str) -> float | None:
    return float(value) if value not in ("", None) else None


def _fmt(value):
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(round(value, 4))
    return value


def session_onsets(audio_dir: Path, params: voicekey.VoiceKeyParams | None = None) -> list[dict]:
    """One output row per trial recording listed in ``audio_dir/recordings.csv`` (file order)."""
    params = params or voicekey.VoiceKeyParams()
    index = audio_dir / INDEX_NAME
    rows = read_rows(index)
    models: dict[str, voicekey.NoiseModel] = {}
    out = []
    version, pjson = detector_version(), detector_params(params)
    for r in rows:
        if r["kind"] != "trial":
            continue
        wav = audio_dir / r["file"]
        if not wav.is_file():
            raise OfflineError(f"{wav}: listed in {index} but missing; restore it from the backup")
        x, rate = read_wav_float(wav)
        if rate != int(r["audio_rate_hz"]):
            raise OfflineError(f"{wav}: {rate} Hz, but {index} says {r['audio_rate_hz']} Hz")
        noise_name = r["noise_file"]
        if noise_name:
            if noise_name not in models:
                npath = audio_dir / noise_name
                if not npath.is_file():
                    raise OfflineError(f"{npath}: the noise calibration of {r['file']} is missing")
                n, nrate = read_wav_float(npath)
                if nrate != rate:
                    raise OfflineError(f"{npath}: {nrate} Hz, but its trials are {rate} Hz")
                models[noise_name] = voicekey.calibrate(n, rate, params)
            noise = models[noise_name]
        else:
            noise = None  # before any calibration: the detector uses the trial's first 200 ms
        res = voicekey.detect_onset(x, rate, noise, params)
        start, clock_rate, zero = float(r["audio_start_s"]), float(r["audio_clock_rate_hz"]), float(r["start_s"])
        out.append({
            "is_practice": r["is_practice"], "block": r["block"], "trial_in_block": r["trial_in_block"],
            "trial_in_session": r["trial_in_session"], "audio_file": r["file"], "noise_file": noise_name,
            "rt_ms": onset_rt_ms(res.onset_s, start, clock_rate, rate, zero),
            "voicing_ms": onset_rt_ms(res.voicing_s, start, clock_rate, rate, zero),
            "confidence": round(res.confidence, 3), "snr_db": res.snr_db, "band": res.band,
            "online_rt_ms": _f(r["online_rt_ms"]), "session_rt_ms": _f(r["rt_ms"]),
            "detector": version, "detector_params": pjson})
    return out


def write_csv_new(path: Path, rows: list[dict], force: bool) -> None:
    """Write ``rows`` to ``path`` atomically; OfflineError if it exists and not ``force``."""
    import os
    if path.exists() and not force:
        raise OfflineError(f"{path} exists; pass --force to replace it or --out to write elsewhere")
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: _fmt(r[k]) for k in COLUMNS})
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8", newline="") as fh:
        fh.write(buf.getvalue())
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m experiment.voice_offline",
                                 description="Rerun voice-onset detection on a session's recordings "
                                             "(raw files are never modified).")
    ap.add_argument("folder", type=Path, help="participant folder: <data>/<participant>")
    ap.add_argument("--out", type=Path, help="output CSV (only when the folder holds one voice session)")
    ap.add_argument("--force", action="store_true", help="replace an existing output file")
    args = ap.parse_args(argv)
    try:
        stems = session_stems(args.folder)
        if args.out is not None and len(stems) > 1:
            raise OfflineError(f"{args.folder} holds {len(stems)} voice sessions; drop --out "
                               "(each gets <stem>" + OUT_SUFFIX + ")")
        for stem in stems:
            rows = session_onsets(args.folder / f"{stem}{AUDIO_DIR_SUFFIX}")
            out = args.out or args.folder / f"{stem}{OUT_SUFFIX}"
            write_csv_new(out, rows, args.force)
            found = sum(r["rt_ms"] is not None for r in rows)
            print(f"{out}: {len(rows)} trials, onset found in {found}")
    except (OfflineError, voicekey.VoiceKeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (KeyError, ValueError) as exc:
        print(f"error: {args.folder}: a recordings index is damaged or from another version "
              f"({type(exc).__name__}: {exc}); restore it from the backup", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
