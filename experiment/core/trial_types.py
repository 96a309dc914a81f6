"""How many trials of each congruency a block holds. No PsychoPy import.

Shared by the config's validation and the trial-list design, so neither imports the other.
"""
from __future__ import annotations


def trial_type_counts(n_trials: int, p_congruent: float, p_neutral: float,
                      n_colours: int) -> dict[str, int]:
    """Trials per congruency in a block of ``n_trials``; ValueError if they are not whole and balanced.

    >>> trial_type_counts(48, 0.25, 0.0, 4)
    {'congruent': 12, 'incongruent': 36, 'neutral': 0}
    """
    counts = {}
    for name, prop, unit in (("congruent", p_congruent, n_colours),
                             ("neutral", p_neutral, n_colours)):
        exact = n_trials * prop
        count = round(exact)
        if abs(exact - count) > 1e-9 or count % unit:
            raise ValueError(f"{n_trials} trials x {prop} {name} = {exact:g} trials, which must be "
                             f"a whole multiple of {unit} (one per ink colour); change "
                             "trials_per_block or the proportion")
        counts[name] = count
    pairs = n_colours * (n_colours - 1)
    incongruent = n_trials - counts["congruent"] - counts["neutral"]
    if incongruent <= 0 or incongruent % pairs:
        raise ValueError(f"leaves {incongruent} incongruent trials per block, which must be a "
                         f"positive multiple of {pairs} (the incongruent word-ink pairs)")
    return {"congruent": counts["congruent"], "incongruent": incongruent,
            "neutral": counts["neutral"]}
