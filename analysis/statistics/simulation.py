"""The generative model of a simulated participant: ex-Gaussian RTs with condition effects.

Used by the experiment's simulated participant (key presses injected at drawn times), by the
example-data generator and by the power analysis. Pure numpy; times in **seconds**.

Defaults follow ``shared/SCIENCE.md``: standing incongruent mean ~0.77 s (mu 0.59 +
tau 0.18), interference ~65 ms, ~5% errors, walking slows responses (dual-task cost) and
backward walking is set slightly faster than forward (the Koch et al. 2009 claim).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np

DEFAULT_CONDITION_SHIFT_S = {"stand": 0.0, "forward": 0.05, "backward": 0.03,
                             "left": 0.0, "right": 0.0}


@dataclass(frozen=True)
class SimulatedResponse:
    rt_s: float | None  # None: no response within the window (timeout)
    correct: bool


@dataclass(frozen=True)
class RTModel:
    """Ex-Gaussian RT model: RT = Normal(mu + shifts, sigma) + Exponential(tau), in seconds.

    ``condition_shift_s`` and the congruency shifts move mu; ``participant_sd_s`` is the SD
    of a per-participant shift drawn once with :meth:`participant_offset_s`;
    ``condition_sd_s`` is the SD of a participant × condition shift (random condition
    slopes, independent across conditions) drawn once with
    :meth:`participant_condition_offsets_s` (0, the default, draws nothing).

    >>> rng = np.random.default_rng(1)
    >>> r = RTModel().response(rng, "backward", "incongruent", window_s=2.5)
    >>> 0.2 < r.rt_s < 2.5
    True
    """
    mu_s: float = 0.59
    sigma_s: float = 0.07
    tau_s: float = 0.18
    congruent_shift_s: float = -0.065
    neutral_shift_s: float = -0.06
    error_rate: float = 0.05
    participant_sd_s: float = 0.08
    condition_shift_s: Mapping[str, float] = field(
        default_factory=lambda: dict(DEFAULT_CONDITION_SHIFT_S))
    condition_sd_s: float = 0.0

    def mean_rt_s(self, condition: str, congruency: str, offset_s: float = 0.0) -> float:
        """Expected RT (s) before the response window cuts the tail."""
        return self._mu(condition, congruency, offset_s) + self.tau_s

    def location_s(self, condition: str, congruency: str, offset_s: float = 0.0) -> float:
        """Mean (s) of the normal component for a condition and congruency: mu + shifts."""
        return self._mu(condition, congruency, offset_s)

    def _mu(self, condition: str, congruency: str, offset_s: float) -> float:
        shift = {"congruent": self.congruent_shift_s, "neutral": self.neutral_shift_s}.get(
            congruency, 0.0)
        return self.mu_s + self.condition_shift_s.get(condition, 0.0) + shift + offset_s

    def participant_offset_s(self, rng: np.random.Generator) -> float:
        return float(rng.normal(0.0, self.participant_sd_s))

    def participant_condition_offsets_s(self, rng: np.random.Generator,
                                        conditions: Sequence[str]) -> dict[str, float]:
        """One participant's extra shift (s) per condition, N(0, condition_sd_s) each.

        Consumes no random numbers when ``condition_sd_s`` is 0 (all offsets 0.0).
        """
        if self.condition_sd_s <= 0:
            return {c: 0.0 for c in conditions}
        draws = rng.normal(0.0, self.condition_sd_s, size=len(conditions))
        return {c: float(d) for c, d in zip(conditions, draws)}

    def rts_s(self, rng: np.random.Generator, mu_s: np.ndarray) -> np.ndarray:
        """Ex-Gaussian draws (s) for an array of per-trial mu values; shape of ``mu_s``."""
        mu_s = np.asarray(mu_s, dtype=float)
        return (rng.normal(mu_s, self.sigma_s, size=mu_s.shape)
                + rng.exponential(self.tau_s, size=mu_s.shape))

    def responses(self, rng: np.random.Generator, mu_s: np.ndarray, window_s: float,
                  min_rt_s: float = 0.15) -> tuple[np.ndarray, np.ndarray]:
        """Vectorised :meth:`response` for per-trial mu values (s).

        Returns ``(rt_s, correct)``, each of the shape of ``mu_s``: RT in seconds (NaN for a
        timeout, i.e. RT >= ``window_s``) and a bool array (False on timeouts). Same
        distribution as :meth:`response`, drawn in a different order (all RTs, then all
        correctness draws).
        """
        rt = np.maximum(self.rts_s(rng, mu_s), min_rt_s)
        correct = rng.random(size=rt.shape) >= self.error_rate
        timeout = rt >= window_s
        return np.where(timeout, np.nan, rt), correct & ~timeout

    def response(self, rng: np.random.Generator, condition: str, congruency: str,
                 window_s: float, offset_s: float = 0.0, min_rt_s: float = 0.15
                 ) -> SimulatedResponse:
        """One trial's response: RT (s, None past ``window_s``) and whether it is correct."""
        rt = float(self.rts_s(rng, np.array(self._mu(condition, congruency, offset_s))))
        rt = max(rt, min_rt_s)
        correct = bool(rng.random() >= self.error_rate)
        if rt >= window_s:
            return SimulatedResponse(None, False)
        return SimulatedResponse(rt, correct)
