"""The power analysis: same results on a Dask cluster as locally; calibrated at 0 and huge effects.

Real parts: a real ``dask.distributed.LocalCluster`` of worker processes (its address passed
with ``--scheduler``, as for a remote cluster), real statsmodels fits.
"""
from __future__ import annotations

import math

import pandas as pd
import pytest

from analysis.power import Scenario, main, simulate_trials
from analysis.statistics.simulation import RTModel

distributed = pytest.importorskip("dask.distributed")

TINY = ["--participants", "6,9", "--effects-ms", "0,60", "--reps", "3",
        "--trials-per-condition", "30", "--seed", "11", "--no-progress"]


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0", silence_logs=40) as c:
        yield c


def _read(out) -> tuple[pd.DataFrame, bytes, bytes]:
    return (pd.read_csv(out / "power.csv"), (out / "power.csv").read_bytes(),
            (out / "power_reps.csv").read_bytes())


def test_cluster_run_is_identical_to_the_local_run(cluster, tmp_path):
    remote, local, serial = tmp_path / "remote", tmp_path / "local", tmp_path / "serial"
    assert main(TINY + ["--scheduler", cluster.scheduler_address, "--batch-size", "1",
                        "--out", str(remote)]) == 0
    assert main(TINY + ["--workers", "2", "--batch-size", "5", "--out", str(local)]) == 0
    assert main(TINY + ["--workers", "0", "--out", str(serial)]) == 0
    table, table_bytes, reps_bytes = _read(remote)
    for other in (local, serial):
        _, other_table, other_reps = _read(other)
        assert other_reps == reps_bytes, f"replications differ: {other} vs {remote}"
        assert other_table == table_bytes
    assert len(table) == 4 and (table["reps"] == 3).all()
    for name in ("power.md", "power_curve.png", "power_curve.svg"):
        assert (remote / name).stat().st_size > 0
    # another seed or replication gives other simulated studies (the comparison could fail)
    model = RTModel(condition_sd_s=0.02)
    base = simulate_trials(model, 6, 24, seed=11, rep=0)
    for seed, rep in ((12, 0), (11, 1)):
        assert not base.equals(simulate_trials(model, 6, 24, seed=seed, rep=rep))


def test_the_simulation_has_the_requested_effect():
    model = RTModel(condition_sd_s=0.02)
    scen = Scenario(model=model, trials_per_condition=400, seed=3)
    trials = simulate_trials(scen.model_for(40.0), 60, 400, seed=3, rep=0)
    assert len(trials) == 60 * 3 * 400 and trials["participant"].nunique() == 60
    means = trials.groupby("condition")["rt_ms"].mean()
    # forward − backward = 40 ms; forward − stand = 50 ms (config default); SE ≈ 3 ms each
    assert means["forward"] - means["backward"] == pytest.approx(40.0, abs=12.0)
    assert means["forward"] - means["stand"] == pytest.approx(50.0, abs=12.0)
    assert trials["correct"].mean() == pytest.approx(0.95, abs=0.01)
    # participants are nested across cells: the first 10 of 60 are the 10 of a 10-person study
    small = simulate_trials(scen.model_for(40.0), 10, 400, seed=3, rep=0)
    pd.testing.assert_frame_equal(small, trials.iloc[:len(small)].reset_index(drop=True))


def test_power_is_near_alpha_without_an_effect_and_near_one_with_a_huge_one(cluster, tmp_path):
    """80 null studies: the count of p < .05 is Binomial(80, ~0.05-0.08) (the Wald z test of
    a mixed model is slightly liberal with 12 participants), so <= 14 holds unless the
    test is broken (P(X >= 15) < 0.005 at 0.075). 20 studies with a 150 ms effect: all
    significant at a power of ~1."""
    out = tmp_path / "calib"
    assert main(["--participants", "12", "--effects-ms", "0", "--reps", "80",
                 "--trials-per-condition", "30", "--seed", "5", "--no-progress",
                 "--scheduler", cluster.scheduler_address, "--out", str(out)]) == 0
    null = pd.read_csv(out / "power.csv").iloc[0]
    assert null["reps"] == 80 and null["failed"] == 0
    assert null["significant"] <= 14, f"type I error {null['power']:.3f} at alpha 0.05"
    assert abs(null["mean_est_ms"]) < 6.0  # unbiased: SE of the mean ≈ 1.5 ms

    huge = tmp_path / "huge"
    assert main(["--participants", "12", "--effects-ms", "150", "--reps", "20",
                 "--trials-per-condition", "30", "--seed", "5", "--no-progress",
                 "--scheduler", cluster.scheduler_address, "--out", str(huge)]) == 0
    big = pd.read_csv(huge / "power.csv").iloc[0]
    assert big["significant"] == 20
    assert big["power"] == 1.0 and big["ci_low"] > 0.8
    assert big["mean_est_ms"] == pytest.approx(150.0, abs=20.0)
    assert math.isclose(big["ci_high"], 1.0)


def test_bad_arguments_are_one_line_errors(capsys, tmp_path):
    assert main(["--participants", "1,x", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: --participants") and "\n" not in err
    assert main(["--reps", "0", "--out", str(tmp_path)]) == 2
    assert not any(tmp_path.iterdir())
