"""Tests of productivecity.allocation against brute-force enumeration and scipy's LP solver."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pulp
import pytest
from scipy.optimize import linprog

from productivecity._errors import AllocationError, ParameterError, SchemaError, SolverError
from productivecity.siting.allocation import (
    coverage_curve,
    greedy_covering,
    maximal_covering,
    p_median,
    travel_times_from_pairs,
)

CUTOFF = 20.0


def random_instance(seed: int, n_demand: int = 25, n_cand: int = 7, n_exist: int = 2):
    """Random sparse instance: demand weights, long pair table (times <= CUTOFF), ids."""
    rng = np.random.default_rng(seed)
    demand = pd.Series(
        rng.integers(0, 30, n_demand).astype(float),
        index=pd.Index([f"d{i}" for i in range(n_demand)], name="demand_id"),
        name="jobseekers_n",
    )
    cand = [f"c{j}" for j in range(n_cand)]
    exist = [f"e{j}" for j in range(n_exist)]
    rows = [
        (d, f, float(np.round(rng.uniform(0, 35), 1)))
        for d in demand.index
        for f in cand + exist
        if rng.random() < 0.45
    ]
    pairs = pd.DataFrame(rows, columns=["demand_id", "site_id", "time_min"])
    pairs = pairs[pairs["time_min"] <= CUTOFF].reset_index(drop=True)
    return demand, pairs, cand, exist


def brute_coverage(demand, pairs, open_ids, T):
    ok = pairs[(pairs["time_min"] <= T) & pairs["site_id"].isin(open_ids)]["demand_id"].unique()
    return float(demand[ok].sum())


def brute_mclp(demand, pairs, cand, exist, k, T):
    return max(
        brute_coverage(demand, pairs, set(s) | set(exist), T)
        for s in itertools.combinations(cand, k)
    )


def brute_pmedian(demand, pairs, cand, exist, k, penalty):
    best = math.inf
    for s in itertools.combinations(cand, k):
        sub = pairs[pairs["site_id"].isin(set(s) | set(exist))]
        t = sub.groupby("demand_id")["time_min"].min().reindex(demand.index).fillna(penalty)
        best = min(best, float((t * demand).sum()))
    return best


def transport_lp(demand, pairs, open_ids, cap, *, T=None, penalty=None):
    """Capacitated assignment for a fixed open set with scipy's linprog (HiGHS-free reference).

    Maximise covered demand (penalty None) or minimise weighted time + penalty x unserved.
    """
    sub = pairs[pairs["site_id"].isin(open_ids)]
    if T is not None:
        sub = sub[sub["time_min"] <= T]
    sub = sub[sub["demand_id"].map(demand) > 0].reset_index(drop=True)
    d = demand[demand > 0]
    n = len(sub)
    nu = len(d) if penalty is not None else 0
    dw = sub["demand_id"].map(demand).to_numpy()
    if penalty is None:
        c = -dw
    else:
        c = np.concatenate([dw * sub["time_min"].to_numpy(), d.to_numpy() * penalty])
    a_ub, b_ub, a_eq, b_eq = [], [], [], []
    for i, did in enumerate(d.index):
        row = np.zeros(n + nu)
        row[:n][sub["demand_id"].to_numpy() == did] = 1
        if penalty is None:
            a_ub.append(row)
            b_ub.append(1)
        else:
            row[n + i] = 1
            a_eq.append(row)
            b_eq.append(1)
    for f in open_ids:
        if f in cap.index:
            row = np.zeros(n + nu)
            row[:n][sub["site_id"].to_numpy() == f] = dw[sub["site_id"].to_numpy() == f]
            a_ub.append(row)
            b_ub.append(cap[f])
    res = linprog(
        c,
        A_ub=np.array(a_ub) if a_ub else None,
        b_ub=b_ub or None,
        A_eq=np.array(a_eq) if a_eq else None,
        b_eq=b_eq or None,
        bounds=(0, 1),
        method="highs",
    )
    assert res.status == 0
    return -res.fun if penalty is None else res.fun


@pytest.fixture(params=[0, 1, 2])
def instance(request):
    """Three seeded random instances with two existing hubs."""
    return random_instance(request.param)


# --------------------------------------------------------------------------- MCLP


def test_mclp_equals_brute_force(instance):
    demand, pairs, cand, exist = instance
    tt = travel_times_from_pairs(pairs, demand, candidates=cand, existing=exist, limit_min=CUTOFF)
    for T in (10.0, CUTOFF):
        for k in range(0, 4):
            res = maximal_covering(tt, k, limit_min=T)
            assert res.status == "Optimal" and res.optimal
            assert res.mip_gap == pytest.approx(0, abs=1e-9)
            assert res.covered_demand_n == pytest.approx(
                brute_mclp(demand, pairs, cand, exist, k, T)
            )
            assert res.objective == pytest.approx(res.covered_demand_n)
            # the reported sites achieve the reported coverage (checked independently)
            assert len(res.selected) == k
            assert brute_coverage(
                demand, pairs, set(res.selected) | set(exist), T
            ) == pytest.approx(res.covered_demand_n)
            assert res.baseline_covered_demand_n == pytest.approx(
                brute_coverage(demand, pairs, set(exist), T)
            )
            # conservation: each covered demand point is assigned to exactly one open hub
            assert res.sites["assigned_demand_n"].sum() == pytest.approx(res.covered_demand_n)


def test_mclp_pulp_backends_agree(instance):
    demand, pairs, cand, exist = instance
    tt = travel_times_from_pairs(pairs, demand, candidates=cand, existing=exist, limit_min=CUTOFF)
    best = brute_mclp(demand, pairs, cand, exist, 2, 12.0)
    via_pulp = maximal_covering(tt, 2, limit_min=12.0, solver="pulp")
    via_obj = maximal_covering(tt, 2, limit_min=12.0, solver=pulp.HiGHS(msg=False, gapRel=0))
    assert via_pulp.status == "Optimal" and via_obj.status == "Optimal"
    assert via_pulp.covered_demand_n == pytest.approx(best)
    assert via_obj.covered_demand_n == pytest.approx(best)


def test_mclp_restricted_candidates(instance):
    demand, pairs, cand, exist = instance
    tt = travel_times_from_pairs(pairs, demand, candidates=cand, existing=exist, limit_min=CUTOFF)
    allowed = cand[2:6]
    res = maximal_covering(tt, 2, limit_min=15.0, candidates=allowed)
    assert set(res.selected) <= set(allowed)
    assert res.covered_demand_n == pytest.approx(brute_mclp(demand, pairs, allowed, exist, 2, 15.0))


def test_capacitated_mclp_equals_enumeration_with_lp(instance):
    demand, pairs, cand, exist = instance
    tt = travel_times_from_pairs(pairs, demand, candidates=cand, existing=exist, limit_min=CUTOFF)
    cap = pd.Series([40.0, 60.0, 25.0, 80.0, 50.0, 30.0, 45.0, 35.0], index=cand + exist[:1])
    T = 15.0
    for k in (1, 2):
        best = max(
            transport_lp(demand, pairs, set(s) | set(exist), cap, T=T)
            for s in itertools.combinations(cand, k)
        )
        res = maximal_covering(tt, k, limit_min=T, capacity=cap)
        assert res.status == "Optimal"
        assert res.covered_demand_n == pytest.approx(best, abs=1e-6)
        served = res.sites["assigned_demand_n"]
        assert (served[cap.index] <= cap + 1e-6).all()
        assert served.sum() == pytest.approx(res.covered_demand_n)
    base = transport_lp(demand, pairs, set(exist), cap, T=T)
    assert res.baseline_covered_demand_n == pytest.approx(base, abs=1e-6)


def test_coverage_curve_matches_brute_force():
    demand, pairs, cand, exist = random_instance(4, n_cand=8)
    tt = travel_times_from_pairs(pairs, demand, candidates=cand, existing=exist, limit_min=CUTOFF)
    curve = coverage_curve(tt, 5, limit_min=12.0)
    t = curve.table
    assert t.index.tolist() == list(range(6))
    expect = [brute_mclp(demand, pairs, cand, exist, k, 12.0) for k in range(6)]
    assert t["covered_demand_n"].to_numpy() == pytest.approx(expect)
    assert t["marginal_gain_n"].iloc[1:].to_numpy() == pytest.approx(np.diff(expect))
    assert (t["marginal_gain_n"].iloc[1:] >= -1e-9).all()
    assert (t["status"] == "Optimal").all()
    assert t.loc[5, "covered_share_pct"] == pytest.approx(100 * expect[5] / demand.sum())


def test_greedy_is_feasible_and_not_better_than_ilp(instance):
    demand, pairs, cand, exist = instance
    tt = travel_times_from_pairs(pairs, demand, candidates=cand, existing=exist, limit_min=CUTOFF)
    for k in (1, 2, 3):
        g = greedy_covering(tt, k, limit_min=10.0)
        opt = maximal_covering(tt, k, limit_min=10.0)
        assert g.status == "Heuristic" and math.isnan(g.mip_gap)
        assert brute_coverage(demand, pairs, set(g.selected) | set(exist), 10.0) == pytest.approx(
            g.covered_demand_n
        )
        assert g.covered_demand_n <= opt.covered_demand_n + 1e-9
        assert g.new_covered_demand_n >= (1 - 1 / math.e) * opt.new_covered_demand_n - 1e-9


# --------------------------------------------------------------------------- p-median


def test_pmedian_equals_brute_force(instance):
    demand, pairs, cand, exist = instance
    tt = travel_times_from_pairs(pairs, demand, candidates=cand, existing=exist, limit_min=CUTOFF)
    for k in range(0, 4):
        res = p_median(tt, k)
        assert res.status == "Optimal"
        assert res.objective == pytest.approx(brute_pmedian(demand, pairs, cand, exist, k, CUTOFF))
        # served demand: reachable from an open hub within the cutoff
        assert res.covered_demand_n == pytest.approx(
            brute_coverage(demand, pairs, set(res.selected) | set(exist), CUTOFF)
        )
    res = p_median(tt, 2, unserved_penalty_min=60.0)
    assert res.objective == pytest.approx(brute_pmedian(demand, pairs, cand, exist, 2, 60.0))


def test_capacitated_pmedian_equals_enumeration_with_lp():
    demand, pairs, cand, exist = random_instance(7, n_demand=15, n_cand=6)
    tt = travel_times_from_pairs(pairs, demand, candidates=cand, existing=exist, limit_min=CUTOFF)
    cap = pd.Series(60.0, index=cand + exist)
    for k in (1, 2):
        best = min(
            transport_lp(demand, pairs, set(s) | set(exist), cap, penalty=CUTOFF)
            for s in itertools.combinations(cand, k)
        )
        res = p_median(tt, k, capacity=cap)
        assert res.objective == pytest.approx(best, abs=1e-6)
        assert (res.sites["assigned_demand_n"] <= 60.0 + 1e-6).all()


def test_pmedian_unreachable_and_infeasible():
    demand = pd.Series([10.0, 5.0, 7.0], index=["a", "b", "z"])
    pairs = pd.DataFrame({"demand_id": ["a", "b"], "site_id": ["c1", "c2"], "time_min": [3.0, 4.0]})
    tt = travel_times_from_pairs(pairs, demand, candidates=["c1", "c2"], limit_min=10)
    res = p_median(tt, 1)
    assert res.unreachable_demand_n == 7.0
    assert res.covered_demand_n == 10.0  # c1 serves a (10) rather than b (5)
    assert res.objective == pytest.approx(10 * 3 + 5 * 10 + 7 * 10)
    assert math.isnan(res.assignment.loc["z", "time_min"])
    with pytest.raises(AllocationError, match="1 demand point"):
        p_median(tt, 1, allow_unserved=False)
    tt2 = travel_times_from_pairs(pairs, demand.drop("z"), candidates=["c1", "c2"], limit_min=10)
    with pytest.raises(SolverError, match="no feasible solution"):
        p_median(tt2, 1, allow_unserved=False)
    assert p_median(tt2, 2, allow_unserved=False).objective == pytest.approx(10 * 3 + 5 * 4)


# --------------------------------------------------------------------------- input handling


def test_travel_times_cutoff_and_duplicates():
    demand = pd.Series([1.0, 2.0], index=["a", "b"])
    pairs = pd.DataFrame(
        {
            "demand_id": ["a", "a", "b", "b"],
            "site_id": ["c", "c", "c", "h"],
            "time_min": [5.0, 3.0, 25.0, 0.0],
        }
    )
    tt = travel_times_from_pairs(pairs, demand, candidates=["c"], existing=["h"], limit_min=20)
    long = tt.to_frame()
    assert len(long) == 2
    assert long.set_index(["demand_id", "facility_id"])["time_min"].to_dict() == {
        ("a", "c"): 3.0,
        ("b", "h"): 0.0,
    }
    res = maximal_covering(tt, 1)
    assert res.covered_demand_n == 3.0 and res.baseline_covered_demand_n == 2.0


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"candidates": ["c1", "h"], "existing": ["h"]}, AllocationError, "both candidates"),
        ({"candidates": ["c1"]}, AllocationError, "neither candidates nor existing"),
        ({"limit_min": -1}, ParameterError, "limit_min"),
    ],
)
def test_travel_times_bad_input(kwargs, exc, match):
    demand = pd.Series([1.0], index=["a"])
    pairs = pd.DataFrame({"demand_id": ["a"], "site_id": ["c2"], "time_min": [1.0]})
    base = {"candidates": ["c1", "c2"], "existing": [], "limit_min": 10}
    with pytest.raises(exc, match=match):
        travel_times_from_pairs(pairs, demand, **{**base, **kwargs})


def test_bad_values_and_columns():
    demand = pd.Series([1.0, -2.0], index=["a", "b"])
    pairs = pd.DataFrame({"demand_id": ["a"], "site_id": ["c"], "time_min": [-1.0]})
    with pytest.raises(AllocationError, match=r"demand must be .* >= 0.*time_min must be >= 0"):
        travel_times_from_pairs(pairs, demand, candidates=["c"], limit_min=10)
    with pytest.raises(SchemaError, match="travel_min"):
        travel_times_from_pairs(
            pairs, demand, candidates=["c"], limit_min=10, time_col="travel_min"
        )
    pairs2 = pd.DataFrame({"demand_id": ["x"], "site_id": ["c"], "time_min": [1.0]})
    with pytest.raises(AllocationError, match="absent from the demand series"):
        travel_times_from_pairs(pairs2, demand.abs(), candidates=["c"], limit_min=10)


def test_k_and_time_checks(instance):
    demand, pairs, cand, exist = instance
    tt = travel_times_from_pairs(pairs, demand, candidates=cand, existing=exist, limit_min=CUTOFF)
    with pytest.raises(AllocationError, match="only 7 candidate sites"):
        maximal_covering(tt, 8)
    with pytest.raises(AllocationError, match="only 7 candidate sites"):
        coverage_curve(tt, 8)
    with pytest.raises(AllocationError, match="only 2 candidate sites"):
        p_median(tt, 3, candidates=cand[:2])
    with pytest.raises(AllocationError, match="exceeds the travel-time cutoff"):
        maximal_covering(tt, 1, limit_min=30)
    with pytest.raises(AllocationError, match="k must be an integer"):
        maximal_covering(tt, -1)
    with pytest.raises(AllocationError, match="not facilities"):
        maximal_covering(tt, 1, capacity=pd.Series({"nope": 3.0}))
    with pytest.raises(AllocationError, match="below the cutoff"):
        p_median(tt, 1, unserved_penalty_min=5)
