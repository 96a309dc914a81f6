"""The statistics: descriptives and within-subject CIs, mixed models with Satterthwaite df,
repeated-measures ANOVAs, accuracy GEEs, secondary effects, timing QA, and the generative
model of a simulated participant."""
