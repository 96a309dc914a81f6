"""The coding tool end to end: the real PsychoPy window under Xvfb, real keys and clicks (XTEST).

Each run is its own process (``python -m experiment.coding_tool``), as a coder starts it, on a
real session folder (:func:`test_voice_coding.make_session`: trials file, WAVs with speech at
known onsets, recordings index). What is checked is what the coder leaves behind: the coder
file, row by row, and the screens the tool showed (``--capture-frames``). Playback goes into
a PulseAudio null sink whose monitor the test records (``audio`` marker).
"""
from __future__ import annotations

import csv
import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from experiment.voice import coding as vc
from experiment.voice.coding_tool import DETECTED, ONSET, Layout
from audio_support import require_audio
from test_voice_coding import CLOCK_RATE, RATE, SPECS, STEM, make_session

REPO = Path(__file__).resolve().parents[3]
CODER = "AB"
LAYOUT = Layout()

pytestmark = pytest.mark.display
if not os.environ.get("DISPLAY"):
    if os.environ.get("CI") == "true":
        raise RuntimeError("the coding tool tests need an X display: run them with `make test`")
    pytest.skip("no X display: run under xvfb-run (make test does)", allow_module_level=True)


# ------------------------------------------------------------------ driving the tool
def _windows():
    from Xlib import display
    d = display.Display()
    out, stack = {}, [d.screen().root]
    while stack:
        win = stack.pop()
        try:
            name = win.get_wm_name()
            stack.extend(win.query_tree().children)
            if name:
                pos = win.translate_coords(d.screen().root, 0, 0)
                out[name if isinstance(name, str) else name.decode()] = (-pos.x, -pos.y)
        except Exception:  # a window that vanished meanwhile
            continue
    d.close()
    return out


class Tool:
    """``python -m experiment.coding_tool`` in a subprocess, with its frames captured."""

    def __init__(self, folder: Path, frames: Path, *extra: str, coder: str = CODER):
        self.title = f"stroop-walk coding: {STEM} ({coder})"
        self.frames = frames
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "experiment.coding_tool", str(folder), "--coder", coder,
             "--capture-frames", str(frames), *extra],
            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.origin = self._wait_ready()

    def _wait_ready(self, timeout_s: float = 90) -> tuple[int, int]:
        """The window's top-left on the screen once it is up (its title is set when keys work)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                out, err = self.proc.communicate()
                raise AssertionError(f"the tool exited ({self.proc.returncode}): {err[-2000:]}")
            found = _windows().get(self.title)
            if found is not None:
                time.sleep(0.3)
                return found
            time.sleep(0.2)
        self.proc.kill()
        raise AssertionError(f"no window {self.title!r}")

    def finish(self, timeout_s: float = 60) -> tuple[int, str, str]:
        out, err = self.proc.communicate(timeout=timeout_s)
        return self.proc.returncode, out, err

    def frames_of(self, key: tuple[int, int, int]) -> list[Path]:
        p, b, t = key
        return sorted(self.frames.glob(f"*_p{p}_b{b:02d}_t{t:03d}.png"))

    def wait_for_trial(self, key: tuple[int, int, int], timeout_s: float = 60) -> None:
        """Until the tool shows trial ``key`` (it saves a frame after each key it handled):
        keys queue up, but a click lands on whatever is on screen when it arrives."""
        deadline = time.monotonic() + timeout_s
        while not self.frames_of(key):
            assert time.monotonic() < deadline, f"the tool never showed trial {key}"
            assert self.proc.poll() is None, "the tool exited"
            time.sleep(0.05)
        time.sleep(0.2)  # the frame is saved before the loop's next flip


class Keys:
    def __init__(self):
        from experiment.simulation.participant import KeyInjector
        self.injector = KeyInjector(hold_s=0.03)

    def __call__(self, *names: str) -> None:
        for name in names:
            self.injector.press(name)
            time.sleep(0.03)
            self.injector.release(name)
            time.sleep(0.07)

    def shifted(self, name: str, times: int) -> None:
        self.injector.press("Shift_L")
        time.sleep(0.05)
        self(*[name] * times)
        self.injector.release("Shift_L")
        time.sleep(0.07)

    def hold(self, name: str, seconds: float) -> None:
        self.injector.press(name)
        time.sleep(seconds)
        self.injector.release(name)
        time.sleep(0.07)

    def click(self, x: float, y: float) -> None:
        """Left click at screen pixel (x, y)."""
        from Xlib import X
        from Xlib.ext import xtest
        d = self.injector._display
        xtest.fake_input(d, X.MotionNotify, x=int(round(x)), y=int(round(y)))
        d.sync()
        time.sleep(0.1)
        xtest.fake_input(d, X.ButtonPress, 1)
        d.sync()
        time.sleep(0.05)
        xtest.fake_input(d, X.ButtonRelease, 1)
        d.sync()
        time.sleep(0.1)

    def close(self) -> None:
        self.injector.close()


@pytest.fixture(scope="module")
def keys():
    k = Keys()
    yield k
    k.close()


def rows_of(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def key_of(row: dict[str, str]) -> tuple[int, int, int]:
    return (int(row["is_practice"]), int(row["block"]), int(row["trial_in_block"]))


def hashes(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and not p.name.startswith("coding_")}


KEYS = [(s.is_practice, s.block, s.trial_in_block) for s in SPECS]   # session order
T1, T2, T3, T4, T5, T6 = KEYS             # T4: no speech detected; T5: its WAV is missing


# ------------------------------------------------------------------ a first coding run
@pytest.fixture(scope="module")
def first_run(tmp_path_factory, keys):
    """Code trials 1-3 (move the onset, zoom, no speech), then quit with escape."""
    root = tmp_path_factory.mktemp("coding")
    folder = root / "P07"
    facts = make_session(folder)
    before = hashes(folder)
    t0 = time.perf_counter()
    tool = Tool(folder, root / "frames1")
    keys(*["Right"] * 5)                 # trial 1: +5 ms
    keys("z")                            # zoom around the onset
    keys("c")
    keys.shifted("Right", 2)             # trial 2: +20 ms
    keys("Up", "Left")                   # +10 ms, -1 ms
    keys("w")
    keys("n", "u")                       # trial 3: no speech, unclear
    keys("escape")
    rc, out, err = tool.finish()
    return dict(root=root, folder=folder, facts=facts, before=before, rc=rc, out=out, err=err,
                tool=tool, seconds=time.perf_counter() - t0,
                coder_file=vc.coding_path(folder, CODER))


def test_first_run_saves_codes_moved_onsets_and_no_speech(first_run):
    r = first_run
    assert r["rc"] == 0, r["err"][-2000:]
    rows = rows_of(r["coder_file"])
    assert [key_of(row) for row in rows] == [T1, T2, T3]
    facts = r["facts"]
    expected = [("correct", facts[T1]["rt_ms"] + 5), ("wrong", facts[T2]["rt_ms"] + 29),
                ("unclear", None)]
    for row, (code, onset) in zip(rows, expected):
        f = facts[key_of(row)]
        assert row["coder"] == CODER and row["code"] == code
        assert row["onset_ms"] == vc.format_ms(onset)          # exactly, to the written 3 decimals
        assert float(row["detected_rt_ms"]) == f["rt_ms"]
        assert row["onset_moved"] == "1"
        assert row["audio_file"] == f["audio_file"] and int(row["trial_in_session"]) == f["n"]
    assert "3 of 6 trials coded" in r["out"]
    assert hashes(r["folder"]) == r["before"]                   # WAVs, index, trials file untouched
    print(f"\nfirst run: {r['seconds']:.1f} s")


def test_without_an_output_device_coding_still_works(first_run):
    if Path("/dev/snd").exists() or os.environ.get("PULSE_SERVER"):
        pytest.skip("this machine has an audio output")
    assert "no audio output device" in first_run["out"]
    assert len(rows_of(first_run["coder_file"])) == 3


def _colour_columns(img: np.ndarray, rgb, tol: int = 40) -> np.ndarray:
    """Image columns (x) in the waveform area where pixels of colour ``rgb`` form a vertical line."""
    top = int(LAYOUT.height / 2 - LAYOUT.wave_top) + 2
    bottom = int(LAYOUT.height / 2 - LAYOUT.wave_bottom) - 2
    area = img[top:bottom, :, :3].astype(int)
    close = np.all(np.abs(area - np.array(rgb)) <= tol, axis=2)
    return np.flatnonzero(close.sum(axis=0) > 0.5 * (bottom - top))


def test_screen_shows_the_word_in_its_ink_and_the_markers_where_they_belong(first_run):
    tool = first_run["tool"]
    frames = tool.frames_of(T1)
    assert len(frames) == 7                # one frame at the start and one after each key
    img = np.asarray(Image.open(frames[0]).convert("RGB"))
    (trial,) = [t for t in vc.load_session(first_run["folder"], "ZZ").trials if t.key == T1]
    cx, cy = LAYOUT.stim_pos
    box = img[int(LAYOUT.height / 2 - cy - 70):int(LAYOUT.height / 2 - cy + 70),
              int(LAYOUT.width / 2 + cx - 165):int(LAYOUT.width / 2 + cx + 165)].astype(int)
    rgb, _, _ = vc.stimulus_look(vc.locate_session(first_run["folder"]))
    counts = {ink: int(np.sum(np.all(np.abs(box - np.array(rgb[ink])) <= 30, axis=2)))
              for ink in ("red", "green", "blue", "yellow")}
    assert max(counts, key=counts.get) == trial.ink and counts[trial.ink] > 300, counts

    # after 5 x right and z: zoomed around the coder's onset, 5 ms right of the detected one
    img = np.asarray(Image.open(frames[-1]).convert("RGB"))
    x, timing = vc.load_audio(trial)
    onset = trial.detected_rt_ms + 5
    view = vc.zoom_view(onset, len(x), timing)
    for rgb_marker, ms in ((ONSET, onset), (DETECTED, trial.detected_rt_ms)):
        cols = _colour_columns(img, rgb_marker)
        assert cols.size, f"no marker of colour {rgb_marker}"
        expected = LAYOUT.x_of(view, ms) + LAYOUT.width / 2
        assert abs(cols.mean() + 0.5 - expected) <= 1.5, (cols, expected)
    px_per_ms = LAYOUT.wave_width / view.span_ms
    gap = _colour_columns(img, ONSET).mean() - _colour_columns(img, DETECTED).mean()
    assert gap == pytest.approx(5 * px_per_ms, abs=2.0)        # 18 px for 5 ms when zoomed


# ------------------------------------------------------------------ resume, previous, re-code
def test_resume_starts_at_the_first_uncoded_trial_and_a_recode_wins(first_run, keys, tmp_path):
    folder = tmp_path / "P07"
    shutil.copytree(first_run["folder"], folder)
    facts = first_run["facts"]
    coder_file = vc.coding_path(folder, CODER)
    first_bytes = coder_file.read_bytes()
    before = hashes(folder)
    tool = Tool(folder, tmp_path / "frames")
    keys("u")                              # T4 (no speech detected): unclear, nothing moved
    keys("c", "Right", "n")                # T5, WAV missing: refused, onset cannot move
    keys("u")                              # T5: only unclear can be saved
    keys("Left", "Left", "Left", "c")      # T6: -3 ms, correct -> all coded: the end screen
    keys("backspace")                      # back to T6, at the coder's onset (-3 ms)
    keys("Left", "Left", "w")              # T6 again: -5 ms, wrong
    keys("backspace", "p", "p", "p")       # T6, T5, T4, T3 (coded no speech in the first run)
    keys("r", "Right", "Right", "c")       # T3 again: detected + 2 ms, correct
    keys("escape")
    rc, out, err = tool.finish()
    assert rc == 0, err[-2000:]
    first = sorted(tool.frames.glob("0001_*.png"))
    assert first and first[0].name.endswith(f"_p{T4[0]}_b{T4[1]:02d}_t{T4[2]:03d}.png")
    data = coder_file.read_bytes()
    assert data.startswith(first_bytes)                        # earlier rows kept as they were
    rows = rows_of(coder_file)[3:]
    assert [(key_of(r), r["code"]) for r in rows] == [
        (T4, "unclear"), (T5, "unclear"), (T6, "correct"), (T6, "wrong"), (T3, "correct")]
    t4, t5, t6, t6b, t3 = rows
    assert (t4["onset_ms"], t4["detected_rt_ms"], t4["onset_moved"]) == ("", "", "0")
    assert t5["onset_ms"] == vc.format_ms(facts[T5]["rt_ms"]) and t5["onset_moved"] == "0"
    assert t6["onset_ms"] == vc.format_ms(facts[T6]["rt_ms"] - 3)
    assert t6b["onset_ms"] == vc.format_ms(facts[T6]["rt_ms"] - 5) and t6b["onset_moved"] == "1"
    assert t3["onset_ms"] == vc.format_ms(facts[T3]["rt_ms"] + 2)
    latest = vc.latest_codes(vc.read_codes(coder_file))        # the last row for a trial wins
    assert {k: r.code for k, r in latest.items()} == {
        T1: "correct", T2: "wrong", T3: "correct", T4: "unclear", T5: "unclear", T6: "wrong"}
    assert "audio file missing" in out
    assert hashes(folder) == before


def test_all_goes_through_every_trial_held_arrows_repeat_and_a_click_sets_the_onset(first_run, keys, tmp_path):
    folder = tmp_path / "P07"
    shutil.copytree(first_run["folder"], folder)
    facts = first_run["facts"]
    tool = Tool(folder, tmp_path / "frames", "--all")
    keys("c")                              # T1 (coded before): its onset is the coder's, +5 ms
    keys.hold("Right", 1.0)                # T2 (coded +29 ms): held, right repeats every 40 ms after 0.4 s
    keys("c")
    tool.wait_for_trial(T3)
    (trial,) = [t for t in vc.load_session(folder, CODER).trials if t.key == T3]
    x, timing = vc.load_audio(trial)
    view = vc.full_view(len(x), timing)
    target_ms = 700.0
    sx = tool.origin[0] + LAYOUT.width / 2 + LAYOUT.x_of(view, target_ms)
    sy = tool.origin[1] + LAYOUT.height / 2 - LAYOUT.wave_mid
    keys.click(sx, sy)                     # T3: click at 700 ms
    keys("c")
    keys("escape")
    rc, out, err = tool.finish()
    assert rc == 0, err[-2000:]
    rows = rows_of(vc.coding_path(folder, CODER))[3:]
    assert [(key_of(r), r["code"]) for r in rows] == [(T1, "correct"), (T2, "correct"), (T3, "correct")]
    assert rows[0]["onset_ms"] == vc.format_ms(facts[T1]["rt_ms"] + 5)
    # from the coder's earlier onset (+29 ms): 1 press + ~15 repeats
    steps = float(rows[1]["onset_ms"]) - (facts[T2]["rt_ms"] + 29)
    # at least one repeat (how many depends on the frame rate a loaded machine gives)
    assert 2 <= steps <= 17 and steps == pytest.approx(round(steps), abs=0.002), steps
    ms_per_px = view.span_ms / LAYOUT.wave_width
    assert abs(float(rows[2]["onset_ms"]) - target_ms) <= 1.5 * ms_per_px
    assert rows[2]["onset_moved"] == "1"


# ------------------------------------------------------------------ playback into a virtual sink
@pytest.fixture
def virtual_audio():
    require_audio()
    from experiment.simulation.virtual_microphone import VirtualAudio
    va = VirtualAudio().start()
    yield va
    va.stop()


class MonitorRecorder:
    """Records the sink's monitor with ``pacat --record`` (float32 mono) until :meth:`stop`.

    A C client with its own buffer: a Python input stream in this (busy) process now and
    then lost blocks, which looked like playback faults.
    """

    def __init__(self, audio, path: Path):
        self.path = path
        self.proc = subprocess.Popen(
            ["pacat", "--record", "--raw", "--format=float32le", f"--rate={RATE}", "--channels=1",
             "--latency-msec=50", "-d", "vspk.monitor", str(path)],
            env=audio.env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # connected and recording once the monitor's (silent) samples arrive: a fresh daemon
        # can take well over the usual 0.3 s for the first client
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and (not path.exists() or path.stat().st_size == 0):
            time.sleep(0.05)
        time.sleep(0.3)

    def stop(self) -> np.ndarray:
        self.proc.terminate()
        self.proc.wait(timeout=10)
        return np.fromfile(self.path, dtype="<f4").astype(np.float64)


def _best_match(rec: np.ndarray, ref: np.ndarray) -> tuple[int, float]:
    """(lag, normalised correlation) where ``ref`` best matches a stretch of ``rec``."""
    from scipy.signal import correlate
    if len(rec) < len(ref):
        return 0, 0.0
    c = correlate(rec, ref, mode="valid", method="fft")
    csum = np.concatenate([[0.0], np.cumsum(rec ** 2)])
    energy = np.maximum(csum[len(ref):] - csum[:-len(ref)], 0.0)   # sliding sum of squares
    norm = c / np.sqrt(np.maximum(energy, 1e-3 * np.sum(ref ** 2)) * np.sum(ref ** 2))
    lag = int(np.argmax(norm))
    return lag, float(norm[lag])


def _chunks_found(rec: np.ndarray, ref: np.ndarray, chunk_s: float = 0.05) -> tuple[float, int]:
    """Share of ``ref``'s 50 ms chunks with sound (not just noise) found in ``rec`` (r > 0.98).

    Chunk by chunk, so one dropout in the playback path (a loaded machine) costs a chunk,
    not the whole comparison. Returns (share, number of chunks with sound).
    """
    n = int(chunk_s * RATE)
    chunks = [ref[i:i + n] for i in range(0, len(ref) - n + 1, n)]
    loud = [c for c in chunks if np.sqrt(np.mean(c ** 2)) > 0.02]
    found = sum(_best_match(rec, c)[1] > 0.98 for c in loud)
    return found / max(len(loud), 1), len(loud)


@pytest.mark.audio
def test_space_plays_the_recording_and_o_plays_from_the_onset(virtual_audio, keys, tmp_path):
    folder = tmp_path / "P07"
    facts = make_session(folder)
    (t1, t2) = [t for t in vc.load_session(folder, CODER).trials][:2]
    assert facts[t2.key]["spec"].marker_s is not None          # trial 2 beeps before the speech
    f = vc.CoderFile(vc.coding_path(folder, CODER), CODER)     # trial 1 coded: start at trial 2
    f.append(t1.record(CODER, "correct", t1.detected_rt_ms))
    f.close()
    x, timing = vc.load_audio(t2)
    tool = Tool(folder, tmp_path / "frames")
    try:
        recorder = MonitorRecorder(virtual_audio, tmp_path / "space.raw")
        keys("space")
        time.sleep(len(x) / RATE + 1.0)
        first = recorder.stop()
        recorder = MonitorRecorder(virtual_audio, tmp_path / "o.raw")
        keys("o")                                   # from the onset: the beep before it is not played
        time.sleep(len(x) / RATE + 1.0)
        second = recorder.stop()
    finally:
        keys("escape")
        rc, out, err = tool.finish()
    assert rc == 0, err[-2000:]
    assert "no audio output device" not in out and "playback failed" not in out
    onset_index = vc.index_from_ms(t2.detected_rt_ms, timing)
    tail = x[onset_index:]
    beep_at = int(round(SPECS[1].marker_s * CLOCK_RATE))
    beep = x[beep_at:beep_at + int(0.05 * RATE)]
    share_all, n_all = _chunks_found(first, x)
    share_tail, n_tail = _chunks_found(second, tail)
    r_beep_first, r_beep_second = _best_match(first, beep)[1], _best_match(second, beep)[1]
    print(f"\nplayback: whole file {share_all:.0%} of {n_all} chunks, from onset "
          f"{share_tail:.0%} of {n_tail}; beep r = {r_beep_first:.3f} / {r_beep_second:.3f}; "
          f"whole-file r = {_best_match(first, x)[1]:.4f}")
    assert n_all >= 8 and n_tail >= 6
    # a loaded machine can drop or insert a few ms in the PulseAudio path: a chunk or two lost
    assert share_all >= 0.75, f"space: only {share_all:.0%} of the WAV's sound was played"
    assert share_tail >= 0.75, f"o: only {share_tail:.0%} of the WAV after the onset was played"
    assert r_beep_first > 0.98, "space did not play the beep before the speech"
    assert r_beep_second < 0.3, "o played audio from before the onset (the beep)"
