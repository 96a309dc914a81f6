"""``python -m analysis``: data folder → tables, figures and report.

    python -m analysis [--data DIR] [--out DIR] [--plan FILE] [--skip-bad-files] [--force]
                       [--accept-edited] [--include-simulated]
    python -m analysis --data FILE_OR_DIR --columns mapping.toml [--out DIR] [--plan FILE]

Unusable input (a malformed or foreign data file, a bad plan, an impossible analysis, an
unusable output folder) prints one line ``error: ...`` to stderr and exits with status 2;
nothing in the data folder is ever written, and ``--out`` is replaced only by a complete
new output (files there that the analysis did not write are kept).
"""
from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from analysis.cleaning.selection import AnalysisError
from analysis.input.loader import DataError
from analysis.input.mapping import MappingError, load_mapping
from analysis.output.folder import OutputError
from analysis.input.plan import PlanError, load_plan


class OneLineParser(argparse.ArgumentParser):
    """Usage errors in one line (``error: ...``, exit 2), like the analysis's other errors."""

    def error(self, message: str):
        self.exit(2, f"error: {message} (see {self.prog} --help)\n")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = OneLineParser(
        prog="python -m analysis",
        description="Analyse stroop-walk trial files: tables, figures and a report.")
    p.add_argument("--data", type=Path, default=Path("data"),
                   help="folder searched recursively for *_trials.csv (default: data)")
    p.add_argument("--out", type=Path, default=Path("results"),
                   help="output folder for tables/, figures/, report.md, report.html "
                        "(default: results)")
    p.add_argument("--plan", type=Path, default=None,
                   help="analysis plan TOML (default: analysis/plan.toml)")
    p.add_argument("--columns", type=Path, default=None, metavar="MAPPING",
                   help="read --data (a file or a folder of CSV/TSV tables, e.g. another lab's "
                        "data, PsychoPy Builder or BIDS files) through this column mapping "
                        "TOML (see docs/analysis.md)")
    p.add_argument("--skip-bad-files", action="store_true",
                   help="leave out malformed files (listed in the report) instead of stopping")
    p.add_argument("--force", action="store_true",
                   help="write into an existing --out folder that this analysis did not write "
                        "(its files are kept, except those named like an output)")
    p.add_argument("--accept-edited", action="store_true",
                   help="analyse data files changed since their session ended (their sha256 "
                        "differs from the sidecar's), with a note in the report")
    p.add_argument("--include-simulated", action="store_true",
                   help="analyse simulated sessions (simulated = 1) together with real ones")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from analysis.pipeline import run

    command = "python -m analysis " + " ".join(
        shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv))
    try:
        plan = load_plan(args.plan)
        mapping = load_mapping(args.columns) if args.columns is not None else None
        res = run(args.data, args.out, plan, skip_bad=args.skip_bad_files,
                  progress=False if args.no_progress else None, command=command.strip(),
                  mapping=mapping, force=args.force, accept_edited=args.accept_edited,
                  include_simulated=args.include_simulated)
    except (DataError, PlanError, AnalysisError, MappingError, OutputError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        where = f" {e.filename}" if e.filename else ""
        kept = (f"the previous output in {args.out} is unchanged" if args.out.exists()
                else f"nothing was written to {args.out}")
        print(f"error: cannot read or write{where} ({e.strerror or e}); {kept}",
              file=sys.stderr)
        return 2
    for s in res.loaded.skipped:
        print(f"skipped {s.path}: {s.reason}", file=sys.stderr)
    print(f"wrote {args.out / 'report.md'} and report.html, "
          f"{len(res.tables)} tables in {args.out / 'tables'}, "
          f"{len(res.figures)} figures in {args.out / 'figures'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
