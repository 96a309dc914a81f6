"""What the analysis writes: the output folder (atomic, with a manifest), tables, figures, the
report, the results object the report reads, and BIDS sidecars."""
