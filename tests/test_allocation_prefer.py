"""Maximal covering with a preference among equally good solutions (lexicographic)."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from productivecity.siting.allocation import (
    coverage_curve,
    maximal_covering,
    travel_times_from_pairs,
)


def _instance(seed: int):
    """8 candidates, 1 existing hub, 12 demand points; many candidates cover nothing new."""
    rng = np.random.default_rng(seed)
    demand = pd.Series(rng.integers(1, 5, 12).astype(float),
                       index=[f"d{i}" for i in range(12)])
    rows = []
    for j in range(8):
        for i in rng.choice(12, size=int(rng.integers(0, 4)), replace=False):
            rows.append({"demand_id": f"d{i}", "site_id": f"s{j}", "time_min": 5.0})
    for i in range(6):  # the existing hub covers half the demand
        rows.append({"demand_id": f"d{i}", "site_id": "hub", "time_min": 5.0})
    tt = travel_times_from_pairs(pd.DataFrame(rows), demand,
                                 candidates=[f"s{j}" for j in range(8)], existing=["hub"],
                                 limit_min=10)
    score = pd.Series(rng.uniform(0, 1, 8), index=[f"s{j}" for j in range(8)])
    cover = {f"s{j}": {r["demand_id"] for r in rows if r["site_id"] == f"s{j}"}
             for j in range(8)}
    base = {f"d{i}" for i in range(6)}
    return tt, demand, score, cover, base


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("k", [1, 3, 6])
def test_prefer_picks_the_best_scored_optimal_set(seed, k):
    tt, demand, score, cover, base = _instance(seed)

    def covered(sites):
        return demand[sorted(base.union(*(cover[s] for s in sites)))].sum()

    sets = list(itertools.combinations(score.index, k))
    best_cov = max(covered(s) for s in sets)
    best_pref = max(score[list(s)].sum() for s in sets if covered(s) == best_cov)
    res = maximal_covering(tt, k, prefer=score)
    assert res.status == "Optimal"
    assert res.covered_demand_n == pytest.approx(best_cov)
    assert score[list(res.selected)].sum() == pytest.approx(best_pref)
    # without a preference the coverage is the same (only the choice among ties differs)
    assert maximal_covering(tt, k).covered_demand_n == pytest.approx(best_cov)


def test_coverage_curve_with_prefer_keeps_the_curve():
    tt, _demand, score, _cover, _base = _instance(4)
    plain = coverage_curve(tt, 6).table["covered_demand_n"]
    pref = coverage_curve(tt, 6, prefer=score)
    assert np.allclose(pref.table["covered_demand_n"], plain)
    # once the coverage stops growing, extra hubs are the best-scored remaining sites
    last = pref.results[6].selected
    assert set(score.sort_values(ascending=False).index[:1]) <= set(last)
