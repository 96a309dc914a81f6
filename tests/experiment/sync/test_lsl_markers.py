"""The LSL marker outlet: clock offsets, marker text, and a real outlet/inlet pair on this
machine (LSLAPICFG from tests/conftest.py keeps the traffic local)."""
from __future__ import annotations

import json
import time

import pytest

from experiment.sync.lsl_markers import ClockOffset, NoMarkers, marker_text, measured_offset


def test_offset_is_taken_from_the_narrowest_bracket():
    # PsychoPy reads: a slow bracket (10 ms wide), then a fast one (2 µs wide)
    psychopy = iter([1.000, 1.010, 2.000000, 2.000002]).__next__
    lsl = iter([101.004, 102.000101]).__next__
    off = measured_offset(psychopy, lsl, "start", tries=2)
    assert off == ClockOffset("start", 2.000001, pytest.approx(100.0001, abs=1e-9),
                              pytest.approx(1e-6, abs=1e-12))


def test_marker_text_is_json_with_the_event_first():
    text = marker_text("word_onset", {"block": 2, "word": "緑", "ink": "red"})
    assert text == '{"event":"word_onset","block":2,"word":"緑","ink":"red"}'
    assert json.loads(text)["word"] == "緑"
    with pytest.raises(ValueError, match="unknown marker event 'blink'"):
        marker_text("blink", {})


def test_no_markers_does_nothing():
    m = NoMarkers()
    m.send("fixation", 1.0, block=1)
    m.measure_offset("block 1")
    assert m.offsets_for_sidecar() == [] and not m.enabled


def test_outlet_stamps_markers_on_the_lsl_clock():
    pylsl = pytest.importorskip("pylsl")
    from experiment.sync.lsl_markers import MarkerOutlet
    shift = 1234.5  # a PsychoPy-like clock that started 1234.5 s after LSL's
    psychopy = lambda: time.monotonic() - shift  # noqa: E731
    name = f"stroop-walk-test-{time.monotonic_ns()}"
    outlet = MarkerOutlet(name, "test", psychopy)
    streams = pylsl.resolve_byprop("name", name, 1, 10.0)
    assert len(streams) == 1 and streams[0].type() == "Markers"
    inlet = pylsl.StreamInlet(streams[0])
    inlet.open_stream(10.0)
    time.sleep(0.3)  # the subscription reaches the outlet
    sent = []
    for i in range(20):
        t = psychopy() - 0.05  # an event 50 ms ago (a flip time), on PsychoPy's clock
        outlet.send("word_onset", t, trial=i)
        sent.append(t)
    got = [inlet.pull_sample(timeout=5.0) for _ in sent]
    assert [json.loads(s[0])["trial"] for s, _ in got] == list(range(20))
    offset = outlet.offsets[-1].offset_s
    assert offset == pytest.approx(shift, abs=1e-4)
    for t, (_, stamp) in zip(sent, got):
        assert stamp - offset == pytest.approx(t, abs=1e-6)
    outlet.measure_offset("block 1")
    assert [o["label"] for o in outlet.offsets_for_sidecar()] == ["start", "block 1"]
    outlet.close()


def test_liblsl_reads_the_machine_local_config():
    """A process started by a test loads tests/lsl_local.cfg (liblsl logs where from)."""
    pytest.importorskip("pylsl")
    import subprocess
    import sys
    proc = subprocess.run([sys.executable, "-c", "import pylsl; pylsl.local_clock(); "
                           "pylsl.StreamInfo('x', 'Markers', 1, 0, 'string', 'y')"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "Configuration loaded from" in proc.stderr and "lsl_local.cfg" in proc.stderr
