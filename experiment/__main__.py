"""``python -m experiment``: run a stroop-walk session (or check a config, or export trial lists).

Without ``--participant`` PsychoPy's participant dialog opens. Exit codes: 0 complete,
2 bad input or a failed preflight (nothing written), 3 cancelled, 4 session aborted (data kept).
"""
from __future__ import annotations

import argparse
import errno
import platform
import re
import subprocess
import sys
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from experiment.core.config import Config, ConfigError, load_config, preset_path
from experiment.core.datafile import DataFileError, DiskFullError, existing_session_paths, read_json
from experiment.core.design import (order_for_participant, parse_order, session_plan,
                                    write_conditions_file)
from experiment.core.identifiers import name_problem, session_problem
from experiment.core.session_files import SessionInfo, SessionRecorder


class UsageError(RuntimeError):
    """Bad input found before anything was written (one-line message)."""


#: errno of a failing disk (full, over quota, read-only, I/O error): the session stops, resumable
WRITE_FAULTS = (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EIO)


class SessionStopped(RuntimeError):
    """The session stopped on a fault (disk full); its data are kept and it can be resumed."""


class OneLineParser(argparse.ArgumentParser):
    """argparse whose usage errors are one line (``error: ...``, exit 2), like every other error."""

    def error(self, message: str):
        self.exit(2, f"error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    p = OneLineParser(prog="python -m experiment", description=__doc__.splitlines()[0])
    p.add_argument("--participant", help="participant ID, e.g. P007 (its number picks the Williams order)")
    p.add_argument("--session", type=session_number, default=1,
                   help="session number (default 1)")
    p.add_argument("--experimenter", default="", help="experimenter's initials")
    p.add_argument("--order", help="override the condition order, e.g. stand,backward,forward")
    p.add_argument("--preset", action="append", default=[],
                   help="a shipped preset (experiment/presets/NAME.toml) laid over the default")
    p.add_argument("--config", action="append", default=[], type=Path,
                   help="a TOML config laid over the default (and presets); repeatable")
    p.add_argument("--data-dir", type=Path, help="data folder (default: experiment.data_dir)")
    p.add_argument("--resume", action="store_true",
                   help="continue an unfinished session of this participant and session number")
    p.add_argument("--windowed", action="store_true", help="no fullscreen, whatever the config says")
    p.add_argument("--check-config", action="store_true", help="validate the config and exit")
    p.add_argument("--export-conditions", type=Path, metavar="DIR",
                   help="write the session's trial lists as PsychoPy conditions files and exit")
    sim = p.add_argument_group("simulated participant")
    sim.add_argument("--simulate", action="store_true",
                     help="a simulated participant presses keys through the X server (XTEST)")
    sim.add_argument("--sim-abort-after", type=int, metavar="N",
                     help="pause on trial N of this run and abort the session")
    sim.add_argument("--sim-speed-kmh", type=float, metavar="KMH",
                     help="type this actual speed on every block-end screen")
    sim.add_argument("--sim-log", type=Path,
                     help="write every injected key press (and spoken word) here (JSON lines)")
    sim.add_argument("--sim-snr-db", type=float, default=20.0, metavar="DB",
                     help="voice: level of the spoken words over the simulated walking noise "
                     "(default 20 dB)")
    sim.add_argument("--capture-frames", type=Path, metavar="DIR",
                     help="save each trial's stimulus frame as PNG (testing)")
    return p


def session_number(text: str) -> int:
    """``--session`` as written: ASCII digits only (``int()`` also reads '1_0' as 10, '٣' as 3
    and '1\\n' as 1)."""
    if not re.fullmatch(r"[+-]?[0-9]+", text):
        raise argparse.ArgumentTypeError(f"invalid session number {text!r}: digits 0-9 only")
    return int(text)


def config_from_args(args: argparse.Namespace) -> Config:
    return load_config(*[preset_path(n) for n in args.preset], *args.config)


def ask_participant(config: Config, args: argparse.Namespace) -> None:
    """Fill participant, session, experimenter and order from PsychoPy's dialog (in place)."""
    from psychopy import gui
    info = {"participant": "", "session": args.session, "experimenter": args.experimenter}
    dlg = gui.DlgFromDict(info, title=f"{config.experiment.name}: participant",
                          order=["participant", "session", "experimenter"])
    if not dlg.OK:
        raise KeyboardInterrupt
    args.participant, args.experimenter = str(info["participant"]).strip(), info["experimenter"]
    try:
        args.session = int(str(info["session"]).strip())
    except ValueError:
        raise UsageError(f"session {info['session']!r} must be a whole number") from None
    conditions = config.design.conditions
    try:
        suggested = "-".join(order_for_participant(args.participant, conditions))
    except ValueError:
        suggested = "-".join(conditions)
    confirm = gui.Dlg(title="Condition order")
    confirm.addText(f"Participant {args.participant}, session {args.session}")
    confirm.addField("condition order", initial=args.order or suggested,
                     tip="Williams-square order from the participant number; edit to override")
    existing = existing_session_paths(args.data_dir or Path(config.experiment.data_dir),
                                      args.participant, config.experiment.name, args.session)
    if existing is not None:
        status = read_json(existing.sidecar).get("status")
        confirm.addField("resume the unfinished session", initial=status != "complete")
    values = confirm.show()
    if not confirm.OK:
        raise KeyboardInterrupt
    order = values[0] if isinstance(values, list) else list(values.values())[0]
    if order != suggested:
        args.order = order
    if existing is not None:
        resume = values[1] if isinstance(values, list) else list(values.values())[1]
        args.resume = bool(resume)


def software_versions() -> dict[str, str]:
    import pandas
    import psychopy
    import pyglet
    versions = {"python": platform.python_version(), "platform": platform.platform(),
                "psychopy": psychopy.__version__, "pyglet": pyglet.version,
                "numpy": np.__version__, "pandas": pandas.__version__}
    try:
        from importlib.metadata import version
        versions["stroop-walk"] = version("stroop-walk")
    except Exception:  # not installed as a package
        versions["stroop-walk"] = "unknown"
    repo = Path(__file__).resolve().parents[1]
    commit = subprocess.run(["git", "-C", str(repo), "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True)
    if commit.returncode == 0:
        dirty = subprocess.run(["git", "-C", str(repo), "status", "--porcelain"],
                               capture_output=True, text=True).stdout.strip()
        versions["git_commit"] = commit.stdout.strip() + ("-dirty" if dirty else "")
    return versions


def check_data_dir(data_dir: Path) -> None:
    probe = data_dir / ".write-test"
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        try:
            probe.write_text("ok")
        finally:
            probe.unlink(missing_ok=True)
    except OSError as exc:
        raise UsageError(f"data folder {data_dir} is not writable ({exc.strerror}); "
                         "choose another with --data-dir") from None


def export_conditions(config: Config, participant: str, session: int, order, out: Path) -> int:
    plan = session_plan(config, participant, session, order)
    folder = out / f"{participant}_s{session}"
    for block in plan.practice_rounds + plan.blocks:
        kind = "practice" if block.is_practice else "block"
        write_conditions_file(block.trials, folder / f"{kind}{block.block:02d}_{block.condition}.csv",
                              config.stimuli.rgb)
    print(f"wrote {len(plan.practice_rounds) + len(plan.blocks)} conditions files to {folder} "
          f"(seed {plan.seed}, order {'-'.join(plan.order)})")
    return 0


def refuse_bad_identity(args: argparse.Namespace) -> None:
    """UsageError if the participant ID (when given) or the session number cannot name files."""
    for problem in (None if args.participant is None else name_problem(args.participant, "participant ID"),
                    session_problem(args.session)):
        if problem is not None:
            raise UsageError(problem)


def run(args: argparse.Namespace) -> int:
    refuse_bad_identity(args)  # typed on the command line: refused whatever the other flags
    config = config_from_args(args)
    if args.check_config:
        d = config.design
        print(f"config OK: {len(d.conditions)} conditions x {d.blocks_per_condition} blocks x "
              f"{d.trials_per_block} trials, language {config.experiment.language}")
        return 0
    if args.participant is None:
        if args.simulate:
            raise UsageError("--simulate needs --participant (e.g. --participant SIM01)")
        ask_participant(config, args)
        refuse_bad_identity(args)  # typed into the dialog
    conditions = config.design.conditions
    if args.order is not None:   # --order "" is an order that names nothing, not no order
        order, order_source = parse_order(args.order, conditions), "override"
    else:
        order, order_source = order_for_participant(args.participant, conditions), "williams"
    if args.export_conditions:
        return export_conditions(config, args.participant, args.session, order,
                                 args.export_conditions)
    data_dir = args.data_dir or Path(config.experiment.data_dir)
    check_data_dir(data_dir)
    existing = existing_session_paths(data_dir, args.participant, config.experiment.name,
                                      args.session)
    if existing is not None:
        status = read_json(existing.sidecar).get("status")
        if status == "complete":
            raise UsageError(f"participant {args.participant} session {args.session} is already "
                             f"complete ({existing.sidecar}); use another session number")
        if not args.resume:
            raise UsageError(f"participant {args.participant} session {args.session} was started "
                             f"before ('{status}', {existing.folder}); add --resume to continue it")
        # a resumed session runs with the config and order it started with
        refuse_changes_on_resume(args, config, order, existing)
        config = saved_config(existing)
    elif args.resume:
        raise UsageError(f"nothing to resume: no session {args.session} of {args.participant} "
                         f"under {data_dir}; pass the data folder it was started with, e.g. "
                         "--data-dir data/demo for the demo")
    return run_session(config, args, data_dir, order, order_source)


def saved_config(existing) -> Config:
    """The config an unfinished session started with (its ``_config.toml``, or if that file
    is missing the copy in its sidecar)."""
    if existing.config.exists():
        return load_config(existing.config)
    from experiment.core.config import config_from_tables
    return config_from_tables(read_json(existing.sidecar).get("config") or {})


def refuse_changes_on_resume(args: argparse.Namespace, config: Config, order, existing) -> None:
    """UsageError if ``--order``, ``--config`` or ``--preset`` ask for something other than what
    the session started with (a resumed session keeps its order and config)."""
    sidecar = read_json(existing.sidecar)
    saved_order = tuple(sidecar.get("condition_order") or ())
    if args.order is not None and tuple(order) != saved_order:
        raise UsageError(f"--order {args.order} differs from the order this session started with "
                         f"({'-'.join(saved_order)}); resume without --order")
    if args.config or args.preset:
        key = first_difference(config.raw, saved_config(existing).raw)
        if key is not None:
            given = " ".join([f"--preset {n}" for n in args.preset]
                             + [f"--config {c}" for c in args.config])
            raise UsageError(f"{given} changes {key} from the config this session started with "
                             f"({existing.config.name}); resume without --config/--preset")


def first_difference(a, b, prefix: str = "") -> str | None:
    """The first dotted key whose value differs between two nested tables, or None."""
    for key in sorted(set(a) | set(b)):
        if isinstance(a.get(key), dict) and isinstance(b.get(key), dict):
            found = first_difference(a[key], b[key], f"{prefix}{key}.")
            if found is not None:
                return found
        elif a.get(key) != b.get(key):
            return f"{prefix}{key}"
    return None


def check_platform_keys(config: Config) -> None:
    """UsageError if a configured key is not one this platform's PsychoPy keyboard reports."""
    from psychopy.hardware.keyboard import keyNames
    r = config.response
    wanted = {"continue_key": r.continue_key, "pause_key": r.pause_key, "abort_key": r.abort_key}
    if r.device == "keyboard":
        wanted.update({f"keys.{c}": k for c, k in r.keys.items()})
    if r.device == "voice":
        wanted.update({f"code_keys.{c}": k for c, k in r.code_keys.items()})
    reported = set(keyNames.values())
    for key, name in wanted.items():
        if name not in reported:
            raise UsageError(f"response.{key} = {name!r}: this computer's keyboard has no such key "
                             f"for PsychoPy ({sys.platform}); choose another key")


def response_device(config: Config, win, keyboard, joystick=None, audio_channels: int = 1):
    """The participant's response device named by ``response.device`` (the keyboard by default).

    ``joystick``: an opened pyglet joystick to use instead of ``response.joystick`` (the mock of
    ``--simulate``). ``audio_channels``: voice: channels to record at least (the simulated
    microphone has 2: the microphone and the speaker's clean reference, recorded as the
    index's ``reference_rt_ms``).
    """
    if config.response.device == "voice":
        from psychopy import core

        from experiment.voice.capture import AudioCaptureError, AudioRecorder
        from experiment.voice.device import VoiceDevice, VoiceDeviceError
        v = config.voice
        try:
            recorder = AudioRecorder(core.getTime, device=input_device(v.input_device),
                                     rate_hz=v.sample_rate_hz,
                                     channels=max(v.channel + 1, audio_channels))
            return VoiceDevice(core.getTime, recorder=recorder, channel=v.channel,
                               reference_channel=v.channel + 1 if audio_channels > 1 else None)
        except (AudioCaptureError, VoiceDeviceError) as exc:
            raise UsageError(f"voice.input_device = {v.input_device!r}: {exc}") from None
    if config.response.device == "keyboard":
        return keyboard
    if config.response.device == "buttons":
        from experiment.devices.buttons import ButtonDevice, ButtonDeviceError, open_joystick
        try:
            if joystick is None:
                joystick = open_joystick(config.response.joystick)
            return ButtonDevice(joystick, config.response.buttons)
        except ButtonDeviceError as exc:
            raise UsageError(str(exc)) from None
    raise UsageError(f"response.device = {config.response.device!r} is not available")


def input_device(value: str) -> str | int:
    """``voice.input_device`` as sounddevice takes it: an index if all digits, else a name."""
    return int(value) if value.isdigit() else value


def simulated_voice(config: Config, audio, snr_db: float, seed: int):
    """(SimulatedVoice, BackgroundSound): espeak-ng colour names over walking noise at ``snr_db``."""
    from experiment.simulation.participant import SimulatedVoice
    from experiment.simulation.speech import SpeechSynthError, place_word, spoken_form, synthesise
    from experiment.simulation.virtual_microphone import BackgroundSound, SimulatedSpeaker
    from experiment.simulation.walking_noise import active_rms, walking_noise
    noise = walking_noise(20.0, audio.rate_hz, seed)
    noise_rms = float(np.sqrt(np.mean(noise ** 2)))
    words = {}
    try:
        for colour in config.design.colours:
            word = config.stimuli.colour_words[colour]
            spoken = synthesise(spoken_form(config.experiment.language, word),
                                voice=config.experiment.language, rate_hz=audio.rate_hz)
            words[colour] = place_word(spoken, 0.01)
    except SpeechSynthError as exc:
        raise UsageError(str(exc)) from None
    speech_rms = float(np.mean([active_rms(w) for w, _ in words.values()]))
    gain = noise_rms * 10 ** (snr_db / 20) / speech_rms
    background = BackgroundSound(audio, noise)
    return SimulatedVoice(SimulatedSpeaker(audio, _clock()), words, mic_gain=gain), background


def _clock():
    from psychopy import core
    return core.getTime


def start_virtual_microphone(rate_hz: int):
    """A private PulseAudio daemon whose null sink is the default microphone (--simulate, voice)."""
    from experiment.simulation.virtual_microphone import (VirtualAudio, VirtualAudioError,
                                                          missing_tools)
    if missing_tools():
        raise UsageError(f"--simulate with response.device = 'voice' needs PulseAudio: install "
                         f"{', '.join(missing_tools())} (apt-get install pulseaudio pulseaudio-utils)")
    try:
        return VirtualAudio(rate_hz=rate_hz).start()
    except VirtualAudioError as exc:
        raise UsageError(str(exc)) from None


def run_session(config: Config, args, data_dir: Path, order, order_source: str) -> int:
    """Open the window and devices, run the session, and release everything in reverse order
    (an :class:`~contextlib.ExitStack`), whatever happens. Returns the exit status: 0 complete,
    4 aborted."""
    from experiment.devices.keyboard import KeyboardBackendError, check_display
    try:
        check_display()  # before any PsychoPy import: some connect to the display
    except KeyboardBackendError as exc:
        raise UsageError(str(exc)) from None
    from psychopy import core, logging

    from experiment.shell.display import font_coverage_error, open_window
    problem = font_coverage_error(config)  # before the window: no tofu boxes for words
    if problem:
        raise UsageError(problem)
    from experiment.shell.session import Session
    from experiment.shell.telemetry import SessionTelemetry

    check_platform_keys(config)
    logging.console.setLevel(logging.WARNING)
    with ExitStack() as stack:
        win = open_window(config, fullscreen=False if args.windowed else None)
        stack.callback(win.close)
        devices = open_devices(config, args, win, stack)
        markers = lsl_markers(config, args, core.getTime)  # before any file: pylsl missing stops here
        run_info = run_facts(win, devices)
        recorder = start_recorder(config, args, data_dir, order, order_source, run_info)
        config = recorder.config  # on resume: the config the session started with
        log_file = logging.LogFile(str(recorder.paths.log), level=logging.INFO, filemode="a")
        recorder.after_save = flush_log(logging)  # the log on disk keeps up with the data
        logging.exp(f"run {recorder.run}: {run_info}")
        participant = simulated_participant(config, args, recorder, devices, stack) \
            if args.simulate else None
        if args.capture_frames:
            args.capture_frames.mkdir(parents=True, exist_ok=True)
        import psutil  # a PsychoPy dependency
        session = Session(config, recorder, win, devices.response, participant, args.capture_frames,
                          process_start_wall=psutil.Process().create_time(),
                          keyboard=devices.keyboard,
                          telemetry=SessionTelemetry(win, recorder, config, markers, core.getTime))
        status = run_recorded(session, recorder, lambda: close_log(logging, log_file))
    n = len(recorder.trial_rows)
    print(f"session {status}: {n} trials saved in {recorder.paths.trials}")
    return 0 if status == "complete" else 4


@dataclass(frozen=True)
class Devices:
    """What a session reads responses from. ``keyboard``: the experimenter's keys (always);
    ``response``: the participant's device; ``gamepad``: the mocked gamepad of a simulated
    buttons session, else None; ``audio``: the virtual microphone of a simulated voice session,
    else None."""
    keyboard: Any
    response: Any
    gamepad: Any = None
    audio: Any = None


def open_devices(config: Config, args, win, stack: ExitStack) -> Devices:
    """The session's devices, each closed by ``stack`` (in reverse order of opening)."""
    from experiment.devices.keyboard import KeyboardBackendError, KeyboardDevice
    try:
        keyboard = KeyboardDevice()  # the experimenter's keys, always
    except KeyboardBackendError as exc:
        raise UsageError(str(exc)) from None
    gamepad = audio = None
    if args.simulate and config.response.device == "buttons":
        from experiment.simulation.mock_gamepad import mock_joystick  # a mocked pyglet gamepad
        gamepad = mock_joystick(max(8, max(config.response.buttons.values()) + 1))
    if args.simulate and config.response.device == "voice":
        audio = start_virtual_microphone(config.voice.sample_rate_hz)
        stack.callback(audio.stop)
    device = response_device(config, win, keyboard, gamepad,
                             audio_channels=2 if audio is not None else 1)
    stack.callback(device.close)
    return Devices(keyboard, device, gamepad, audio)


def lsl_markers(config: Config, args, clock):
    """The LSL marker outlet (a no-op unless ``lsl.enabled``)."""
    from experiment.shell.telemetry import open_markers
    try:
        return open_markers(config, f"{config.experiment.name}-{args.participant}-"
                            f"s{args.session}", clock)
    except ImportError:
        raise UsageError("lsl.enabled = true needs pylsl: pip install pylsl") from None
    except RuntimeError as exc:
        raise UsageError(str(exc)) from None


def run_facts(win, devices: Devices) -> dict[str, Any]:
    """What the sidecar records about this run: keyboard backend, response device, software
    versions, window size (px), the command, and the measured frame timing."""
    from experiment.shell.display import measured_frame_timing
    return {"keyboard_backend": devices.keyboard.backend, "response_device": devices.response.name,
            "versions": software_versions(), "window_size_px": [int(v) for v in win.size],
            "command": sys.argv, **measured_frame_timing(win)}


def start_recorder(config: Config, args, data_dir: Path, order, order_source: str,
                   run_info: dict[str, Any]) -> SessionRecorder:
    """The session's files: new ones, or (``--resume``) the unfinished session's."""
    from psychopy import data

    info = SessionInfo(args.participant, args.session, args.experimenter, tuple(order),
                       order_source, args.simulate)
    if args.resume:
        return SessionRecorder.resume(info, data_dir, config.experiment.name, run_info,
                                      session_plan)
    plan = session_plan(config, args.participant, args.session, order)
    return SessionRecorder.start(config, info, plan, data.getDateStr(), data_dir, run_info)


def simulated_participant(config: Config, args, recorder: SessionRecorder, devices: Devices,
                          stack: ExitStack):
    """The simulated participant of ``--simulate`` (keys, gamepad buttons or a voice over
    walking noise), closed by ``stack``; its randomness comes from the session seed."""
    from psychopy import core

    from analysis.statistics.simulation import RTModel
    from experiment.simulation.participant import (ButtonPresser, KeyInjector, PressDurations,
                                                   SimulatedParticipant, SimulationOptions)
    voice = None
    if devices.audio is not None:
        voice, background = simulated_voice(config, devices.audio, args.sim_snr_db,
                                            recorder.plan.seed % 2**31)
        stack.callback(background.stop)
        stack.callback(voice.close)
    sim = config.simulation
    participant = SimulatedParticipant(
        RTModel(**sim.rt_parameters()), config.response.response_names(),
        np.random.default_rng([recorder.plan.seed, 7, recorder.run]), core.getTime,
        SimulationOptions(abort_after_trials=args.sim_abort_after,
                          actual_speed_kmh=args.sim_speed_kmh, log_path=args.sim_log,
                          screen_delay_s=config.display.min_screen_s + 0.25,
                          durations=PressDurations(sim.press_min_s, sim.press_max_s,
                                                   sim.long_press_rate, sim.long_press_s)),
        injector=ButtonPresser(devices.gamepad.device, KeyInjector()) if devices.gamepad else None,
        voice=voice, code_keys=dict(config.response.code_keys))
    stack.callback(participant.close)  # also closes its voice (closing twice is harmless)
    return participant


def run_recorded(session, recorder: SessionRecorder, close_log_file) -> str:
    """``session.run()``'s status; a crash is recorded in the sidecar ('aborted') and raised,
    a full or failing disk stops the session resumably (:class:`SessionStopped`)."""
    try:
        return session.run()
    except (DiskFullError, OSError) as exc:
        if not isinstance(exc, DiskFullError) and exc.errno not in WRITE_FAULTS:
            recorder.add_event("crash", error=repr(exc))
            recorder.finish("aborted")
            raise
        stop_after_write_failure(recorder, exc)
        close_log_file()
        raise SessionStopped(f"{exc}; {len(recorder.trial_rows)} trials are saved in "
                             f"{recorder.paths.trials}: free space on that disk, then "
                             f"continue with --resume") from None
    except BaseException as exc:
        recorder.add_event("crash", error=repr(exc))
        recorder.finish("aborted")
        raise


def flush_log(logging):
    """A callable writing PsychoPy's buffered log to its file; a failing disk is left to
    the next data write to report (the log is not data)."""
    def flush() -> None:
        try:
            logging.flush()
        except OSError:
            pass
    return flush


def close_log(logging, log_file) -> None:
    """Stop writing PsychoPy's log to a failing disk (else its flush at exit prints a traceback)."""
    logging.root.removeTarget(log_file)
    try:
        log_file.stream.close()
    except OSError:
        pass  # closed all the same; what it held is lost with the full disk


def stop_after_write_failure(recorder: SessionRecorder, exc: Exception) -> None:
    """Record the stop in the sidecar if the disk still takes it; else leave it 'running'
    (both are resumable) and close the files."""
    try:
        recorder.add_event("stopped", error=str(exc))
        recorder.finish("aborted")
    except DataFileError:
        recorder.close()


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return run(args)
    except SessionStopped as exc:
        print(f"stopped: {exc}", file=sys.stderr)
        return 4
    except (ConfigError, UsageError, DataFileError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a data folder that fails under us (full, read-only, removed)
        where = f" {exc.filename}" if exc.filename else ""
        print(f"error: cannot write{where} ({exc.strerror or exc}); fix the data folder and "
              "start again (add --resume if the session had begun)", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("cancelled: nothing was started", file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
