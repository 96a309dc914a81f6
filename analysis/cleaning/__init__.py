"""Which trials and participants enter the analyses, and why the others do not: the plan's
exclusion rules applied in order, every exclusion counted."""
