# stroop-walk: the type-I benchmark's fits in lme4/lmerTest, for bench/type1_error_vs_r.py.
#
#     Rscript bench/type1_error_vs_r.R manifest.csv out.csv
#
# manifest.csv: file (trials CSV: participant, condition, rt_ms), structure (a name) and
# re (the random-effects term, e.g. "(1 + fwd + bwd || participant)"). Every model is
# log(rt_ms) ~ fwd + bwd with numeric dummies fwd, bwd (reference: stand), REML, fitted
# with bobyqa and with nloptwrap (lme4's default); the lower REML criterion is kept. Writes
# one row per manifest row: REML criteria of both optimisers, isSingular, and the
# Satterthwaite test of backward - forward (contest, lmerTest).
suppressPackageStartupMessages(library(lmerTest))
args <- commandArgs(trailingOnly = TRUE)
jobs <- read.csv(args[1], stringsAsFactors = FALSE)
fit <- function(f, d, opt) {
  suppressMessages(suppressWarnings(lmer(f, d, REML = TRUE, control = lmerControl(
    optimizer = opt, optCtrl = if (opt == "bobyqa") list(maxfun = 1e6) else list(),
    check.conv.singular = "ignore"))))
}
out <- vector("list", nrow(jobs))
cache <- list()
for (i in seq_len(nrow(jobs))) {
  d <- cache[[jobs$file[i]]]
  if (is.null(d)) {
    d <- read.csv(jobs$file[i], stringsAsFactors = FALSE)
    d$y <- log(d$rt_ms)
    d$fwd <- as.numeric(d$condition == "forward")
    d$bwd <- as.numeric(d$condition == "backward")
    cache[[jobs$file[i]]] <- d
  }
  f <- as.formula(paste("y ~ fwd + bwd +", jobs$re[i]))
  mb <- fit(f, d, "bobyqa")
  mn <- fit(f, d, "nloptwrap")
  m <- if (REMLcrit(mn) < REMLcrit(mb)) mn else mb
  ct <- contest(m, matrix(c(0, -1, 1), nrow = 1), joint = FALSE, ddf = "Satterthwaite")
  out[[i]] <- data.frame(file = jobs$file[i], structure = jobs$structure[i],
                         reml_bobyqa = REMLcrit(mb), reml_nloptwrap = REMLcrit(mn),
                         r_reml = REMLcrit(m), r_singular = isSingular(m),
                         r_estimate = ct$Estimate, r_se = ct[["Std. Error"]], r_df = ct$df,
                         r_p = ct[["Pr(>|t|)"]])
}
write.csv(do.call(rbind, out), args[2], row.names = FALSE)
