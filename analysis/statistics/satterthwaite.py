"""Small-sample tests for linear mixed models: Satterthwaite degrees of freedom, as lmerTest.

A fitted statsmodels ``MixedLM`` (one grouping factor) is re-expressed in lme4's terms:
variance parameters φ = (θ, log σ), where θ holds the free elements of the lower-triangular
relative Cholesky factor Λ (G = σ² ΛΛ'; all lower-triangle elements for an unstructured
covariance, the diagonal for uncorrelated random effects). From per-group sufficient
statistics (X'X, X'Z, Z'Z, X'y, Z'y, y'y) this module evaluates

* the REML deviance −2 ℓ_R(φ) (lme4's "REML criterion"), and
* the covariance of the fixed effects, V(φ) = (X'V_y⁻¹X)⁻¹,

and differentiates them numerically (Richardson-extrapolated central differences): the
asymptotic covariance of φ̂ is A = 2 H⁻¹ (H the Hessian of the deviance), and for a contrast
L the Satterthwaite df is ν = 2 (L V L')² / (g' A g) with g = ∂(L V L')/∂φ (Kuznetsova,
Brockhoff & Christensen 2017). Multi-df hypotheses use lmerTest's ``contestMD`` construction (eigen-decomposition of
L V L', one ν per eigenvector, combined as 2E/(E − q)). The df are invariant to the
parametrisation of φ at an interior optimum, so (θ, log σ) gives lmerTest's numbers; fits on
the boundary (singular) have no valid Satterthwaite df and are not accepted here.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize, stats

#: A diagonal element of Λ (relative SD) at or below this counts as held at the bound 0.
BOUND_THETA = 1e-6
#: Where such an element is restarted from (relative SD; lme4 starts at 1).
RESTART_THETA = 0.1
#: Most L-BFGS-B runs of one minimisation (each continues the last when it stopped short
#: of a stationary point; see VarianceModel._minimise).
RUNS = 5
#: Numerical derivatives of the deviance and of V(φ): central differences at steps
#: STEP × max(1, |φ_i|) and half that, Richardson-extrapolated. Measured on 15 identified
#: fits of the type-I benchmark (N = 12, unstructured slopes): df equal to those of
#: scipy.differentiate's adaptive Richardson scheme (rtol 1e-6, ≤ 4 refinements) within
#: 2e-6 relative at 1/45 of its cost (~200 instead of ~9,600 deviance evaluations).
STEP = 0.004

from analysis.statistics.inference import TTest, t_interval, two_sided_p


@dataclass(frozen=True)
class GroupStats:
    """Per-group cross-products, stacked over m groups: xx (m,p,p), xz (m,p,q), zz (m,q,q),
    xy (m,p), zy (m,q), yy (m,), n (m,)."""
    xx: np.ndarray
    xz: np.ndarray
    zz: np.ndarray
    xy: np.ndarray
    zy: np.ndarray
    yy: np.ndarray
    n: np.ndarray


@dataclass(frozen=True)
class FTest:
    """A q-df test of L β = 0: F, numerator df (q), Satterthwaite denominator df, p."""
    F: float
    df1: int
    df2: float
    p: float


def group_stats(y: np.ndarray, X: np.ndarray, Z: np.ndarray, groups: np.ndarray) -> GroupStats:
    """Sufficient statistics of each group (rows with equal ``groups`` label). ``y`` is
    centred first: the intercept absorbs its mean, and the REML deviance then loses no
    precision to cancellation (its numerical derivatives need that)."""
    y = y - y.mean()
    labels, inverse = np.unique(groups, return_inverse=True)
    m = len(labels)
    p, q = X.shape[1], Z.shape[1]
    out = {k: np.zeros(s) for k, s in (("xx", (m, p, p)), ("xz", (m, p, q)),
                                       ("zz", (m, q, q)), ("xy", (m, p)), ("zy", (m, q)),
                                       ("yy", (m,)))}
    for g in range(m):
        rows = inverse == g
        x, z, yy = X[rows], Z[rows], y[rows]
        out["xx"][g], out["xz"][g], out["zz"][g] = x.T @ x, x.T @ z, z.T @ z
        out["xy"][g], out["zy"][g], out["yy"][g] = x.T @ yy, z.T @ yy, yy @ yy
    return GroupStats(n=np.bincount(inverse, minlength=m).astype(float), **out)


class VarianceModel:
    """REML deviance and fixed-effect covariance as functions of φ = (θ, log σ)."""

    def __init__(self, stats_: GroupStats, diagonal: bool):
        self.s = stats_
        self.q = stats_.zz.shape[1]
        self.p = stats_.xx.shape[1]
        self.diagonal = diagonal
        self.tril = (np.diag_indices(self.q) if diagonal else np.tril_indices(self.q))
        self.n_obs = float(stats_.n.sum())

    def phi(self, cov_re: np.ndarray, scale: float) -> np.ndarray:
        """φ of a fit: cov_re (random-effects covariance, response units²), scale (σ²)."""
        rel = np.asarray(cov_re, dtype=float) / scale
        lam = np.diag(np.sqrt(np.diag(rel))) if self.diagonal else np.linalg.cholesky(rel)
        return np.append(lam[self.tril], 0.5 * math.log(scale))

    def _parts(self, phi: np.ndarray):
        lam = np.zeros((self.q, self.q))
        lam[self.tril] = phi[:-1]
        s2 = math.exp(2 * phi[-1])
        s = self.s
        zl = s.zz @ lam                                             # (m,q,q) Z'Z Λ
        M = np.eye(self.q) + lam.T @ zl                              # I + Λ'Z'ZΛ
        xzl = s.xz @ lam                                             # (m,p,q)
        zly = (s.zy @ lam)                                           # (m,q) Λ'Z'y
        Minv_xzl = np.linalg.solve(M, np.swapaxes(xzl, 1, 2))        # (m,q,p)
        Minv_zly = np.linalg.solve(M, zly[..., None])[..., 0]        # (m,q)
        xvx = (s.xx - xzl @ Minv_xzl).sum(0) / s2
        xvy = (s.xy - (xzl @ Minv_zly[..., None])[..., 0]).sum(0) / s2
        yvy = (s.yy - np.einsum("mq,mq->m", zly, Minv_zly)).sum() / s2
        logdet_v = float(self.n_obs * math.log(s2) + np.linalg.slogdet(M)[1].sum())
        return xvx, xvy, yvy, logdet_v

    def deviance(self, phi: np.ndarray) -> float:
        """REML deviance −2 ℓ_R (lme4's REML criterion) at φ (y as in the statistics)."""
        xvx, xvy, yvy, logdet_v = self._parts(phi)
        beta = np.linalg.solve(xvx, xvy)
        rss = yvy - beta @ xvy
        return float(logdet_v + np.linalg.slogdet(xvx)[1] + rss
                     + (self.n_obs - self.p) * math.log(2 * math.pi))

    def beta_centred(self, phi: np.ndarray) -> np.ndarray:
        """GLS fixed effects at φ for the centred response (add mean(y) to the intercept)."""
        xvx, xvy, _, _ = self._parts(phi)
        return np.linalg.solve(xvx, xvy)

    def covariance(self, phi: np.ndarray) -> tuple[np.ndarray, float]:
        """(random-effects covariance σ²ΛΛ', residual variance σ²) at φ."""
        lam = np.zeros((self.q, self.q))
        lam[self.tril] = phi[:-1]
        s2 = math.exp(2 * phi[-1])
        return s2 * lam @ lam.T, s2

    def profiled_deviance(self, theta: np.ndarray) -> float:
        """REML deviance at θ with σ² profiled out (what lme4 minimises); +inf where X'V⁻¹X
        is numerically singular (an optimiser's trial step to a huge θ, e.g. 1e10: the
        random intercept then absorbs the fixed intercept), so that the line search backs
        off instead of stopping the analysis."""
        xvx, xvy, yvy, logdet_v = self._parts(np.append(theta, 0.0))
        try:
            rss = yvy - np.linalg.solve(xvx, xvy) @ xvy
        except np.linalg.LinAlgError:
            return math.inf
        dof = self.n_obs - self.p
        return float(logdet_v + np.linalg.slogdet(xvx)[1]
                     + dof * (1 + math.log(2 * math.pi * max(rss, 1e-300) / dof)))

    def fit(self, theta0: np.ndarray | None = None) -> tuple[np.ndarray, bool]:
        """REML estimate φ̂ = (θ̂, log σ̂) and whether the optimiser converged: the profiled
        deviance minimised by L-BFGS-B over θ with the diagonal of Λ ≥ 0 (lme4's bounds),
        from θ0 (default lme4's start, Λ = I).

        A column of Λ that is 0 is a stationary point of the deviance (it depends on Λ only
        through ΛΛ', even in each column), so a gradient optimiser whose step lands on the
        bound stays there although the deviance falls away from it (measured: 12 null
        replications of the type-I benchmark, uncorrelated slopes stuck at 0 with a REML
        criterion 6.3 above lme4's). A diagonal element at the bound is therefore moved to
        ``RESTART_THETA`` and the fit restarted; a lower deviance replaces the estimate."""
        rows, cols = self.tril
        diag = rows == cols
        start = diag.astype(float) if theta0 is None else np.abs(theta0) * diag \
            + np.asarray(theta0) * ~diag
        theta, fun, converged = self._minimise(start, diag)
        for _ in range(int(diag.sum())):
            at_bound = diag & (theta <= BOUND_THETA)
            if not at_bound.any():
                break
            restart = theta.copy()
            restart[at_bound] = RESTART_THETA
            theta2, fun2, converged2 = self._minimise(restart, diag)
            if not fun2 < fun - 1e-7:
                break
            theta, fun, converged = theta2, fun2, converged2
        xvx, xvy, yvy, _ = self._parts(np.append(theta, 0.0))
        s2 = (yvy - np.linalg.solve(xvx, xvy) @ xvy) / (self.n_obs - self.p)
        return np.append(theta, 0.5 * math.log(s2)), converged

    def _minimise(self, start: np.ndarray, diag: np.ndarray) -> tuple[np.ndarray, float, bool]:
        """L-BFGS-B from ``start``: (θ, profiled deviance, converged). L-BFGS-B can report
        success far from a stationary point: after a trial step to a huge θ (measured: 1e11,
        on a 3-level factor with 8 participants) its line search gives up with 'relative
        reduction of f' and a gradient of ±18 (REML criterion 2.6 above lme4's). So a run
        that ends where lme4's gradient check fails is continued from its end point (fresh
        Hessian approximation), up to ``RUNS`` times, while the deviance still falls."""
        bounds = [(0.0, None) if d else (None, None) for d in diag]
        theta, fun, success = np.asarray(start, dtype=float), math.inf, False
        for _ in range(RUNS):
            res = optimize.minimize(self.profiled_deviance, theta, method="L-BFGS-B",
                                    bounds=bounds,
                                    options={"ftol": 1e-14, "gtol": 1e-8, "maxiter": 5000})
            improved = res.fun < fun - 1e-10
            if improved:
                theta, fun, success = res.x, float(res.fun), bool(res.success)
            if not improved or self._stationary(theta, diag):
                break
        converged = success or self._stationary(theta, diag)
        return theta, fun, converged

    def _stationary(self, theta: np.ndarray, diag: np.ndarray) -> bool:
        """lme4's convergence check: max |gradient| < 0.002, ignoring parameters held at
        their bound 0 by a gradient pointing outwards. (L-BFGS-B's line search can stop
        with 'abnormal termination' at an optimum when the criterion is flat to rounding.)"""
        g = optimize.approx_fprime(theta, self.profiled_deviance, 1e-7)
        held = diag & (theta <= 1e-10) & (g > 0)
        return bool(np.all(np.abs(g[~held]) < 0.002))

    def vcov(self, phi: np.ndarray) -> np.ndarray:
        """Covariance of the GLS fixed effects at φ, (X'V⁻¹X)⁻¹ (p × p)."""
        return np.linalg.inv(self._parts(phi)[0])


def _steps(x: np.ndarray) -> np.ndarray:
    """Difference steps for φ: ``STEP`` × max(1, |φ_i|)."""
    return STEP * np.maximum(1.0, np.abs(x))


def _central_hessian(f, x: np.ndarray, h: np.ndarray) -> np.ndarray:
    """Central second differences of scalar f at x with steps h (error O(h²))."""
    k = len(x)
    E = np.diag(h)
    f0 = f(x)
    fp = np.array([f(x + E[i]) for i in range(k)])
    fm = np.array([f(x - E[i]) for i in range(k)])
    H = np.diag((fp - 2 * f0 + fm) / h ** 2)
    for i in range(k):
        for j in range(i):
            H[i, j] = H[j, i] = (f(x + E[i] + E[j]) - f(x + E[i] - E[j])
                                 - f(x - E[i] + E[j]) + f(x - E[i] - E[j])) / (4 * h[i] * h[j])
    return H


def richardson_hessian(f, x: np.ndarray) -> np.ndarray:
    """Hessian of scalar f at x (k × k): central differences at steps h and h/2
    (:func:`_steps`), Richardson-extrapolated (error O(h⁴)); 4k² + 1 evaluations."""
    h = _steps(x)
    return (4 * _central_hessian(f, x, h / 2) - _central_hessian(f, x, h)) / 3


def richardson_jacobian(f, x: np.ndarray) -> np.ndarray:
    """Derivatives of array-valued f at x, shape f(x).shape + (k,): central differences at
    steps h and h/2, Richardson-extrapolated (error O(h⁴))."""
    h = _steps(x)
    E = np.diag(h)

    def central(scale: float) -> np.ndarray:
        return np.stack([(f(x + scale * E[i]) - f(x - scale * E[i])) / (2 * scale * h[i])
                         for i in range(len(x))], axis=-1)
    return (4 * central(0.5) - central(1.0)) / 3


@dataclass(frozen=True)
class Satterthwaite:
    """What the df need at the estimate φ̂: V (p×p), ∂V/∂φ (p,p,k), A = cov(φ̂) (k×k)."""
    beta: np.ndarray
    vcov: np.ndarray
    jacobian: np.ndarray
    cov_phi: np.ndarray
    deviance: float

    def _df(self, L: np.ndarray) -> float:
        g = np.einsum("i,ijk,j->k", L, self.jacobian, L)
        denom = float(g @ self.cov_phi @ g)
        v = float(L @ self.vcov @ L)
        return 2 * v * v / denom if denom > 0 else float("inf")

    def t_test(self, L, level: float = 0.95) -> TTest:
        """Test L β = 0 for one contrast vector L (length p)."""
        L = np.asarray(L, dtype=float)
        est = float(L @ self.beta)
        se = math.sqrt(max(float(L @ self.vcov @ L), 0.0))
        df = self._df(L)
        t = est / se if se > 0 else float("nan")
        low, high = t_interval(est, se, df, level)
        return TTest(est, se, df, t, two_sided_p(t, df), low, high)

    def f_test(self, L) -> FTest:
        """Joint test of the rows of L (q × p), lmerTest's ``contestMD``."""
        L = np.atleast_2d(np.asarray(L, dtype=float))
        vl = L @ self.vcov @ L.T
        d, P = np.linalg.eigh(vl)
        keep = d > max(d.max(), 0) * 1e-8
        d, P = d[keep], P[:, keep]
        q = int(keep.sum())
        rows = P.T @ L
        t2 = (rows @ self.beta) ** 2 / d
        F = float(t2.sum() / q)
        nu = np.array([self._df(r) for r in rows])
        if q == 1 or np.all(np.abs(nu - nu[0]) < 1e-8):
            df2 = float(nu[0])
        elif not np.all(np.isfinite(nu)):
            df2 = float("inf")
        elif np.any(nu <= 2):
            df2 = 2.0
        else:
            E = float(np.sum(nu / (nu - 2)))
            df2 = 2 * E / (E - q)
        return FTest(F=F, df1=q, df2=df2, p=float(stats.f.sf(F, q, df2)))


def satterthwaite(y: np.ndarray, X: np.ndarray, Z: np.ndarray, groups: np.ndarray,
                  beta: np.ndarray, cov_re: np.ndarray, scale: float, diagonal: bool = False
                  ) -> Satterthwaite:
    """Satterthwaite machinery at a REML estimate (``beta`` the fixed effects, ``cov_re`` in
    response units², ``scale`` = residual variance σ²). ``diagonal``: the random effects
    were fitted uncorrelated. Raises ValueError for a singular (boundary) covariance."""
    model = VarianceModel(group_stats(np.asarray(y, float), np.asarray(X, float),
                                      np.asarray(Z, float), np.asarray(groups)), diagonal)
    return satterthwaite_at(model, model.phi(cov_re, scale), beta)


def satterthwaite_at(model: VarianceModel, phi: np.ndarray, beta: np.ndarray) -> Satterthwaite:
    """Satterthwaite machinery of ``model`` at its REML estimate ``phi`` (fixed effects
    ``beta``). Raises ValueError for a singular (boundary) covariance."""
    if model.q and np.min(np.abs(np.diag(_lam(model, phi)))) < 1e-4:
        raise ValueError("singular random-effects covariance: Satterthwaite df need an "
                         "interior estimate")
    hess = richardson_hessian(model.deviance, phi)
    jac = richardson_jacobian(model.vcov, phi)                      # (p, p, k)
    cov_phi = 2 * np.linalg.pinv(np.asarray(hess))
    return Satterthwaite(beta=np.asarray(beta, dtype=float), vcov=model.vcov(phi),
                         jacobian=jac, cov_phi=cov_phi, deviance=model.deviance(phi))


def _lam(model: VarianceModel, phi: np.ndarray) -> np.ndarray:
    lam = np.zeros((model.q, model.q))
    lam[model.tril] = phi[:-1]
    return lam
