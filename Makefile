# stroop-walk: every target does its own set-up (apt packages when root, a venv in .venv).
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# xvfb: virtual display; libjack: without it PsychoPy's ptb keyboard backend does not load;
# espeak-ng, sox, pulseaudio, libportaudio2: synthesised speech and the virtual microphone;
# libxcb-*, libxkbcommon-x11: what PyQt6 (PsychoPy's participant dialog) needs on X11.
# fonts-noto-cjk: Noto Sans CJK for the zh, ja and ko word lists (the session checks the glyphs).
SYSTEM_PACKAGES := xvfb xauth libjack-jackd2-0 libportaudio2 espeak-ng sox pulseaudio pulseaudio-utils libasound2-plugins \
  fonts-noto-cjk \
  libxcb-icccm4 libxcb-keysyms1 libxcb-cursor0 libxkbcommon-x11-0
# R and the packages `make crosscheck` (and its test) compare against: afex (rm-ANOVA),
# lmerTest (Satterthwaite df), pbkrtest, emmeans (contrasts), geepack (accuracy GEE),
# jsonlite. Installed without Recommends (those pull in GDAL, ImageMagick, …).
R_PACKAGES := r-base-core r-cran-afex r-cran-lmertest r-cran-emmeans r-cran-pbkrtest r-cran-geepack \
  r-cran-jsonlite
# LSL (markers, [lsl] enabled = true) in tests and the demo: local to this machine only.
LSL_LOCAL := LSLAPICFG=$(CURDIR)/tests/lsl_local.cfg
# Run under a virtual display unless there is a real one.
XRUN := $(if $(DISPLAY),,xvfb-run -a -s "-screen 0 1280x800x24")

.PHONY: setup demo demo-voice test test-fast run analysis power bench example crosscheck clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  missing=$$(for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	  if [ -n "$$missing" ]; then echo "apt-get install $$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; fi; \
	  missing=$$(for p in $(R_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	  if [ -n "$$missing" ]; then echo "apt-get install --no-install-recommends $$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	      --no-install-recommends $$missing >/dev/null; fi; \
	fi
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[experiment,power,dev]'
	touch $@

## The main job: a short simulated session on a virtual display, then the analysis.
demo: $(STAMP)
	rm -rf data/demo  # demo data only: a simulated participant, never real data
	$(LSL_LOCAL) $(XRUN) $(PY) -m experiment --preset demo --simulate --participant DEMO1 --session 1 \
	  --data-dir data/demo
	$(PY) -m analysis --data data/demo --out results/demo --plan analysis/demo_plan.toml
	@echo "demo data:    data/demo/DEMO1/"
	@echo "demo results: results/demo/report.md (and report.html)"

demo-voice: $(STAMP)  # the demo with vocal responses through a virtual PulseAudio microphone
	rm -rf data/demo/voice
	$(LSL_LOCAL) $(XRUN) $(PY) -m experiment --preset demo --preset voice --simulate --participant DEMOV1 \
	  --session 1 --data-dir data/demo/voice
	$(PY) -m analysis --data data/demo/voice --out results/demo-voice --plan analysis/demo_plan.toml
	@echo "demo data:    data/demo/voice/DEMOV1/ (audio in its _audio folder)"
	@echo "demo results: results/demo-voice/report.md (and report.html)"

test: $(STAMP)
	$(LSL_LOCAL) $(XRUN) $(PY) -m pytest -q

test-fast: $(STAMP)
	$(LSL_LOCAL) $(PY) -m pytest -q -m "not display and not slow"

## A real session: opens PsychoPy's participant dialog.
run: $(STAMP)
	$(PY) -m experiment

analysis: $(STAMP)
	$(PY) -m analysis --data data --out results

power: $(STAMP)
	$(PY) -m analysis.power

example: $(STAMP)
	$(PY) -m experiment.example_data --out data/example/simulated-24 --seed 1729 --replace

## Every statistic next to R's (afex, emmeans, lmerTest, geepack) on the same cleaned trials:
## the example data, von Bastian et al. (2016) as published (congruency) and as a 2 x 2
## (congruency x half). One table per dataset; exit status 1 if a row misses its target.
VONBASTIAN := ../shared/reference-data/vonbastian2016/LEF_stroop.csv
crosscheck: $(STAMP)
	$(PY) -m analysis --data data/example --out results/crosscheck/example \
	  --plan analysis/plans/crosscheck_example.toml --no-progress
	$(PY) -m analysis.crosscheck --results results/crosscheck/example \
	  --plan analysis/plans/crosscheck_example.toml
	$(PY) -m analysis.crosscheck --vonbastian $(VONBASTIAN) \
	  --plan analysis/plans/crosscheck_vonbastian.toml --out results/crosscheck/vonbastian
	$(PY) -m analysis.crosscheck --vonbastian $(VONBASTIAN) \
	  --plan analysis/plans/crosscheck_vonbastian_factorial.toml \
	  --out results/crosscheck/vonbastian-factorial

bench: $(STAMP)
	$(LSL_LOCAL) $(XRUN) $(PY) -m bench

clean:
	rm -rf results/demo data/demo .pytest_cache
