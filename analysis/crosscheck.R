# stroop-walk crosscheck: the same analyses in R, on exactly the cleaned trials the pipeline
# wrote. Called by `python -m analysis.crosscheck` (which writes the spec and compares):
#
#     Rscript analysis/crosscheck.R spec.json out.csv
#
# spec.json: data (CSV path), factors, levels, cells (one level per factor each), contrasts
# (name, weights over cells), design_structure, primary (reference, conditions, pairs,
# structure) or null. Writes a long CSV: analysis, term, statistic, value.
# Packages (Debian): r-cran-afex, r-cran-lmertest, r-cran-emmeans, r-cran-geepack,
# r-cran-jsonlite.
suppressPackageStartupMessages({
  library(jsonlite); library(afex); library(lmerTest); library(emmeans); library(geepack)
})
args <- commandArgs(trailingOnly = TRUE)
spec <- fromJSON(args[1], simplifyVector = FALSE)
rows <- list()
add <- function(analysis, term, statistic, value) {
  rows[[length(rows) + 1]] <<- data.frame(analysis = analysis, term = term,
                                          statistic = statistic, value = as.numeric(value))
}
# Both of lme4's optimisers, keeping the fit with the lower REML criterion: bobyqa alone stopped
# short of the optimum in 3 of 60 N = 12 random-slope fits (bench/results/type1_error_vs_r.md).
ctrls <- list(lmerControl(optimizer = "bobyqa", optCtrl = list(maxfun = 1e6),
                          check.conv.singular = "ignore"),
              lmerControl(optimizer = "nloptwrap", check.conv.singular = "ignore"))

d <- read.csv(spec$data, stringsAsFactors = FALSE)
d$participant <- as.character(d$participant)
factors <- unlist(spec$factors)
for (f in factors) d[[f]] <- factor(as.character(d[[f]]), levels = unlist(spec$levels[[f]]))
dd <- d[d$valid == 1 & (d$primary == 1 | "congruency" %in% factors), ]
term_name <- function(t) gsub(":", " × ", t)

## 1. Factorial rm-ANOVA on participant cell means (afex) ----------------------------------
a <- suppressMessages(suppressWarnings(aov_ez(
  "participant", "rt_ms", dd, within = factors, fun_aggregate = mean,
  anova_table = list(correction = "none", es = c("pes", "ges")))))
tab <- a$anova_table
for (t in rownames(tab)) {
  add("rm-ANOVA", term_name(t), "F", tab[t, "F"])
  add("rm-ANOVA", term_name(t), "df1", tab[t, "num Df"])
  add("rm-ANOVA", term_name(t), "df2", tab[t, "den Df"])
  add("rm-ANOVA", term_name(t), "p", tab[t, "Pr(>F)"])
  add("rm-ANOVA", term_name(t), "partial η²", tab[t, "pes"])
  add("rm-ANOVA", term_name(t), "generalised η²", tab[t, "ges"])
}
s <- suppressWarnings(summary(a))
adj <- s$pval.adjustments
if (!is.null(adj) && length(adj)) {
  for (t in intersect(rownames(adj), rownames(tab)[tab[, "num Df"] > 1])) {
    add("rm-ANOVA", term_name(t), "ε GG", adj[t, "GG eps"])
    add("rm-ANOVA", term_name(t), "p GG", adj[t, "Pr(>F[GG])"])
    add("rm-ANOVA", term_name(t), "ε HF", adj[t, "HF eps"])
    add("rm-ANOVA", term_name(t), "p HF", adj[t, "Pr(>F[HF])"])
  }
  sph <- s$sphericity.tests
  for (t in intersect(rownames(sph), rownames(tab))) add("rm-ANOVA", term_name(t), "Mauchly W", sph[t, "Test statistic"])
}

## 2. Named contrasts on participant means (emmeans on the afex model, multivariate) -------
cells <- do.call(rbind, lapply(spec$cells, function(c) as.character(unlist(c))))
key <- function(m) apply(m, 1, paste, collapse = "\r")
if (length(spec$contrasts)) {
  em <- emmeans(a, factors)
  grid <- as.data.frame(em)[, factors, drop = FALSE]
  # afex names levels that are not syntactic names (session 1, 2) by make.names (X1, X2)
  for (f in factors) {
    lv <- unlist(spec$levels[[f]]); g <- as.character(grid[[f]])
    grid[[f]] <- ifelse(g %in% lv, g, lv[match(g, make.names(lv))])
  }
  pos <- match(key(as.matrix(data.frame(lapply(grid, as.character)))), key(cells))
  if (anyNA(pos)) stop("emmeans grid levels not found among the spec's cells")
  for (k in spec$contrasts) {
    w <- unlist(k$weights)[pos]
    ct <- summary(contrast(em, method = setNames(list(w), k$name)), infer = TRUE)
    add("contrast (means)", k$name, "estimate", ct$estimate)
    add("contrast (means)", k$name, "SE", ct$SE)
    add("contrast (means)", k$name, "df", ct$df)
    add("contrast (means)", k$name, "t", ct$t.ratio)
    add("contrast (means)", k$name, "p", ct$p.value)
    add("contrast (means)", k$name, "CI low", ct$lower.CL)
    add("contrast (means)", k$name, "CI high", ct$upper.CL)
  }
}

## Mixed models with numeric columns, so that `||` splits every column as statsmodels does --
# re_cols: for "pruned", the random-effect columns kept (0 = intercept, j = column j of X)
lmm <- function(y, X, participant, structure, re_cols = NULL) {
  dl <- data.frame(y = y, participant = participant, X)
  xs <- paste(colnames(X), collapse = " + ")
  kept <- unlist(re_cols)
  re <- switch(structure,
               slopes = paste0("(1 + ", xs, " | participant)"),
               uncorrelated = paste0("(1 + ", xs, " || participant)"),
               intercept = "(1 | participant)",
               pruned = paste0("(", if (0 %in% kept) "1" else "0",
                               paste0(" + ", colnames(X)[kept[kept > 0]], collapse = ""),
                               " || participant)"))
  fits <- lapply(ctrls, function(ctrl) suppressMessages(suppressWarnings(
    lmer(as.formula(paste("y ~", xs, "+", re)), dl, REML = TRUE, control = ctrl))))
  fits[[which.min(vapply(fits, REMLcrit, numeric(1)))]]
}
identified <- function(m) {
  !isSingular(m) && is.null(m@optinfo$conv$lme4$messages)
}
r_choice <- function(y, X, participant) {
  q <- ncol(X) + 1
  n <- length(unique(participant))
  for (s in c("slopes", "uncorrelated", "intercept")) {
    k <- switch(s, slopes = q * (q + 1) / 2, uncorrelated = q, intercept = 1)
    if (n < k) next
    m <- tryCatch(lmm(y, X, participant, s), error = function(e) NULL)
    if (!is.null(m) && identified(m)) return(s)
  }
  "none"
}
record_fixed <- function(analysis, m, names) {
  co <- summary(m)$coefficients
  for (i in seq_along(names)) {
    add(analysis, names[i], "estimate", co[i, "Estimate"])
    add(analysis, names[i], "SE", co[i, "Std. Error"])
    add(analysis, names[i], "df", co[i, "df"])
    add(analysis, names[i], "t", co[i, "t value"])
    add(analysis, names[i], "p", co[i, "Pr(>|t|)"])
  }
}
record_contrast <- function(analysis, m, name, L) {
  ct <- contest(m, matrix(L, nrow = 1), joint = FALSE, confint = TRUE,
                ddf = "Satterthwaite")
  add(analysis, name, "estimate", ct$Estimate)
  add(analysis, name, "SE", ct[["Std. Error"]])
  add(analysis, name, "df", ct$df)
  add(analysis, name, "t", ct[["t value"]])
  add(analysis, name, "p", ct[["Pr(>|t|)"]])
  add(analysis, name, "CI low", ct$lower)
  add(analysis, name, "CI high", ct$upper)
}

## 3. The design's LMM: sum coding, F per term, named contrasts (lmerTest) ----------------
if (!is.null(spec$design_structure)) {
  op <- options(contrasts = c("contr.sum", "contr.poly"))
  f <- as.formula(paste("~", paste(factors, collapse = " * ")))
  mm <- model.matrix(f, dd)
  X <- mm[, -1, drop = FALSE]
  names_fe <- colnames(mm)
  colnames(X) <- paste0("x", seq_len(ncol(X)))
  y <- log(dd$rt_ms)
  m <- lmm(y, X, dd$participant, spec$design_structure, spec$design_re_columns)
  add("design LMM", "random effects", "R's fallback choice (1 slopes, 2 uncorrelated, 3 intercept)",
      match(r_choice(y, X, dd$participant), c("slopes", "uncorrelated", "intercept")))
  add("design LMM", "REML criterion", "value", REMLcrit(m))
  record_fixed("design LMM", m, gsub("\\(Intercept\\)", "(Intercept)", names_fe))
  assign <- attr(mm, "assign")
  labels <- attr(terms(f), "term.labels")
  for (i in seq_along(labels)) {
    L <- diag(length(assign))[assign == i, , drop = FALSE]
    ft <- contest(m, L, joint = TRUE, ddf = "Satterthwaite")
    add("design LMM F", term_name(labels[i]), "F", ft[["F value"]])
    add("design LMM F", term_name(labels[i]), "df1", ft$NumDF)
    add("design LMM F", term_name(labels[i]), "df2", ft$DenDF)
    add("design LMM F", term_name(labels[i]), "p", ft[["Pr(>F)"]])
  }
  cg <- as.data.frame(cells, stringsAsFactors = FALSE)
  colnames(cg) <- factors
  for (fct in factors) cg[[fct]] <- factor(cg[[fct]], levels = unlist(spec$levels[[fct]]))
  Xc <- model.matrix(f, cg)
  for (k in spec$contrasts) {
    record_contrast("design LMM contrast", m, k$name, as.numeric(unlist(k$weights) %*% Xc))
  }
  options(op)
}

## 4. The primary model: log RT ~ condition (treatment coding), pairwise contrasts ---------
p <- spec$primary
if (!is.null(p)) {
  conds <- unlist(p$conditions)
  pv <- d[d$valid == 1 & d$primary == 1, ]
  pv$condition <- factor(as.character(pv$condition), levels = conds)
  X <- sapply(conds[-1], function(c) as.numeric(pv$condition == c))
  X <- matrix(X, ncol = length(conds) - 1)
  colnames(X) <- paste0("x", seq_len(ncol(X)))
  y <- log(pv$rt_ms)
  m <- lmm(y, X, pv$participant, p$structure, p$re_columns)
  add("primary LMM", "random effects", "R's fallback choice (1 slopes, 2 uncorrelated, 3 intercept)",
      match(r_choice(y, X, pv$participant), c("slopes", "uncorrelated", "intercept")))
  add("primary LMM", "REML criterion", "value", REMLcrit(m))
  record_fixed("primary LMM", m, c("Intercept", paste0("condition[", conds[-1], "]")))
  vec <- function(c) c(1, as.numeric(conds[-1] == c))
  for (pr in p$pairs) {
    a1 <- pr[[1]]; b1 <- pr[[2]]
    record_contrast("primary LMM contrast", m, paste(a1, "vs", b1), vec(a1) - vec(b1))
  }

  ## 5. Cousineau–Morey within-subject 95% CIs, by hand -----------------------------------
  w <- tapply(pv$rt_ms, list(pv$participant, pv$condition), mean)
  w <- w[complete.cases(w), , drop = FALSE]
  n <- nrow(w); C <- ncol(w)
  norm <- w - rowMeans(w) + mean(w)
  half <- qt(0.975, n - 1) * apply(norm, 2, sd) / sqrt(n) * sqrt(C / (C - 1))
  for (c in colnames(w)) {
    add("Cousineau–Morey CI", c, "mean", mean(w[, c]))
    add("Cousineau–Morey CI", c, "CI low", mean(w[, c]) - half[[c]])
    add("Cousineau–Morey CI", c, "CI high", mean(w[, c]) + half[[c]])
  }

  ## 6. Accuracy: binomial GEE, exchangeable within participant (geepack) ----------------
  if (isTRUE(p$accuracy)) {
    pa <- d[d$primary == 1, ]
    pa$condition <- factor(as.character(pa$condition), levels = conds)
    pa <- pa[order(pa$participant), ]
    g <- geeglm(correct ~ condition, id = factor(participant), data = pa,
                family = binomial, corstr = "exchangeable")
    co <- summary(g)$coefficients
    nm <- c(paste0("intercept (odds correct, ", conds[1], ")"),
            paste(conds[-1], "vs", conds[1]))
    for (i in seq_along(nm)) {
      add("accuracy GEE", nm[i], "estimate", co[i, "Estimate"])
      add("accuracy GEE", nm[i], "SE", co[i, "Std.err"])
      add("accuracy GEE", nm[i], "p", co[i, "Pr(>|W|)"])
    }
  }
}

out <- do.call(rbind, rows)
write.csv(out, args[2], row.names = FALSE, fileEncoding = "UTF-8")
