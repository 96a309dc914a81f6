"""Renders every screen type of a config in real windows of many shapes and reports each text's box.

``python tests/layout_driver.py OUT.json CONFIG.toml...`` (under an X display at least 2560x1440):
for each window size, every :func:`experiment.core.screens.every_screen` screen is drawn; the
drawn texts' boxes (pixels from the window's centre), the message and word heights, and the
number of lit pixels on the window's outermost rows and columns (a clipped text lights them)
are written to OUT.json.
"""
import json
import sys
from dataclasses import asdict
from pathlib import Path

import numpy as np

SIZES = [(800, 600), (1024, 768), (1600, 1200),      # 4:3
         (1280, 800), (1680, 1050), (1920, 1200),    # 16:10
         (1280, 720), (1920, 1080), (2560, 1440)]    # 16:9


def main(out: Path, configs: list[Path]) -> None:
    from psychopy import visual

    from experiment.core.config import load_config
    from experiment.shell.display import Stimuli
    from experiment.core.screens import every_screen
    results = []
    for config_path in configs:
        config = load_config(config_path)
        for w, h in SIZES:
            win = visual.Window(size=(w, h), fullscr=False, units=config.display.units,
                                color=list(config.display.background), colorSpace="rgb255",
                                checkTiming=False, winType="pyglet", allowGUI=False)
            stim = Stimuli(win, config)
            for screen in every_screen(config):
                stim.draw_screen(screen)
                frame = np.asarray(win.getMovieFrame(buffer="back"))
                win.movieFrames.clear()
                win.flip()
                lit = frame.max(axis=2) > 40
                edge = int(lit[0].sum() + lit[-1].sum() + lit[:, 0].sum() + lit[:, -1].sum())
                results.append({"config": config_path.name, "size": [w, h],
                                "screen": screen.screen_id,
                                "boxes": [asdict(b) for b in stim.text_boxes()],
                                "message": screen.message,
                                "word_height": config.display.text_height,
                                "message_height": config.display.message_height,
                                "edge_pixels": edge, "frame_size": list(frame.shape[:2])})
            win.close()
    out.write_text(json.dumps(results))


if __name__ == "__main__":
    main(Path(sys.argv[1]), [Path(p) for p in sys.argv[2:]])
