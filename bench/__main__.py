"""Run the benchmarks: ``python -m bench [name ...]`` (all by default).

Each benchmark is a module ``bench/<name>.py`` with ``main(out_dir: Path) -> Path`` that
measures, writes ``<out_dir>/<name>.md`` (human-readable, with targets and pass/fail) and
returns that path.
"""
from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

BENCHMARKS = ("rt_path", "analysis_speed", "voicekey", "voicekey_reachability",
              "voicekey_template_backoff", "type1_error")
RESULTS_DIR = Path(__file__).with_name("results")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", metavar="name",
                        help=f"benchmarks to run: {', '.join(BENCHMARKS)} (default: all)")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR, help="results folder")
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark {unknown[0]!r}; choose from {', '.join(BENCHMARKS)}")
    args.out.mkdir(parents=True, exist_ok=True)
    for name in args.names or BENCHMARKS:
        module = importlib.import_module(f"bench.{name}")
        path = module.main(args.out)
        print(f"{name}: results in {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
