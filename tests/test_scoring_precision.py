"""Honest numbers: indicators are rounded to their meaningful precision before scoring."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from productivecity._errors import CriteriaError, CriteriaWarning, NotDiscriminatingWarning
from productivecity.siting.criteria import (
    CriteriaSpec,
    Criterion,
    criteria_from_dict,
    criteria_table,
)
from productivecity.siting.scoring import indicator_precision, score_sites, standardise
from productivecity.siting.sensitivity import monte_carlo_weights, one_at_a_time


@pytest.fixture
def sites() -> pd.DataFrame:
    """Five sites; ``jobseekers_bike_30min_n`` is 7079 everywhere up to areal-weighting noise."""
    return pd.DataFrame(
        {
            "jobseekers_bike_30min_n": [7079.0, 7078.999999999996, 7079.000000000002,
                                        7078.999999999998, 7078.999999999999],
            "vacant_poi_per_ha": [1.2345, 1.2349999, 2.0, 0.5, 1.2345001],
            "stop_time_min": [2.0, 2.2, 10.0, 6.0, 4.0],
        },
        index=pd.Index(list("ABCDE"), name="site_id"),
    )


def spec_of(*criteria: Criterion, **kw) -> CriteriaSpec:
    """A spec of these criteria, their weights scaled to sum 1 (no warning)."""
    total = sum(c.weight for c in criteria)
    return CriteriaSpec(criteria=tuple(dataclasses.replace(c, weight=c.weight / total)
                                       for c in criteria), **kw)


JOBS = Criterion("jobs", "jobseekers_bike_30min_n", weight=0.2)
VACANT = Criterion("vacant", "vacant_poi_per_ha", weight=0.4)
STOP = Criterion("stop", "stop_time_min", direction="cost", weight=0.4)


def test_precision_from_the_unit_suffix():
    assert indicator_precision("residents_bike_15min_n") == 1.0
    assert indicator_precision("canal_quay_walk_time_min") == 0.1
    assert indicator_precision("brownfield_share_pct") == 0.1
    assert indicator_precision("unbuilt_industrial_ha") == 0.01
    assert indicator_precision("vacant_poi_per_ha") == 0.01
    assert indicator_precision("hub_access_2sfca_per_1000_jobseekers") == 0.01
    assert indicator_precision("anything_n", override=0.5) == 0.5
    # no known suffix: relative to the largest absolute value
    assert indicator_precision("index", pd.Series([3.0, -200.0, np.nan])) == pytest.approx(2e-4)
    assert np.isnan(indicator_precision("index"))


@pytest.mark.parametrize("method", ["minmax", "rank", "zscore"])
def test_constant_with_noise_gets_no_contribution_and_is_flagged(sites, method):
    jobs = Criterion("jobs", "jobseekers_bike_30min_n", standardisation=method, weight=0.2)
    with pytest.warns(NotDiscriminatingWarning, match=r"'jobs' \(jobseekers_bike_30min_n\) has "
                                                      r"the same value 7079 .*does not discrim"):
        res = score_sites(sites, spec_of(jobs, VACANT, STOP))
    assert issubclass(NotDiscriminatingWarning, CriteriaWarning)
    t = res.table
    assert (t["contrib_jobs"] == 0).all()
    assert res.not_discriminating == ["jobs"]
    crit = res.criteria
    assert not crit.loc["jobs", "discriminating"] and crit.loc["vacant", "discriminating"]
    # its weight goes to the others, renormalised: 0.4 / 0.8 each
    assert crit["weight_used"].tolist() == pytest.approx([0.0, 0.5, 0.5])
    assert crit["weight"].tolist() == pytest.approx([0.2, 0.4, 0.4])
    # the same scores as without the criterion
    without = score_sites(sites, spec_of(VACANT, STOP))
    assert t["score"].to_numpy() == pytest.approx(without.table["score"].to_numpy())
    contrib = t[[c for c in t.columns if c.startswith("contrib_")]].sum(axis=1)
    assert contrib.to_numpy() == pytest.approx(t["score"].to_numpy())
    why = res.explain("A")
    assert why.loc["jobs", "weight"] == 0 and why.loc["stop", "weight"] == pytest.approx(0.5)
    table = criteria_table(res.spec, res)
    assert table["discriminating"].tolist() == [False, True, True]
    assert table["weight_used"].sum() == pytest.approx(1.0)
    assert table["precision"].tolist() == [1.0, 0.01, 0.1]


def test_sensitivity_keeps_a_non_discriminating_criterion_at_zero(sites):
    with pytest.warns(CriteriaWarning, match="does not discriminate"):
        res = score_sites(sites, spec_of(JOBS, VACANT, STOP))
    mc = monte_carlo_weights(res, runs=20)
    assert (mc.weights["jobs"] == 0).all()
    assert mc.weights.sum(axis=1).to_numpy() == pytest.approx(1.0)
    oat = one_at_a_time(res, steps=3)
    assert oat.summary.loc[("vacant", 0.0), "base_weight"] == pytest.approx(0.5)


@pytest.mark.parametrize("method", ["minmax", "rank", "zscore"])
def test_ties_get_equal_contributions(sites, method):
    vacant = Criterion("vacant", "vacant_poi_per_ha", standardisation=method, weight=0.5)
    res = score_sites(sites, spec_of(vacant, STOP))
    c = res.table["contrib_vacant"]
    # 1.2345, 1.2349999 and 1.2345001 ha^-1 are all 1.23 to a hundredth: exactly equal
    assert c["A"] == c["B"] == c["E"]
    assert c["C"] != c["A"]


def test_fuzzy_constant_within_precision_does_not_discriminate(sites):
    fuzzy = Criterion("jobs", "jobseekers_bike_30min_n", standardisation="fuzzy",
                      breakpoints=(7000.0, 7100.0), weight=0.2)
    with pytest.warns(CriteriaWarning, match="does not discriminate"):
        res = score_sites(sites, spec_of(fuzzy, VACANT, STOP))
    assert (res.table["contrib_jobs"] == 0).all()


def test_precision_override(sites):
    # to a tenth of a minute (default) 2.0 and 2.2 min differ; to half a minute they tie
    plain = score_sites(sites, spec_of(VACANT, STOP)).table["contrib_stop"]
    assert plain["A"] != plain["B"]
    half = Criterion("stop", "stop_time_min", direction="cost", weight=0.4, precision=0.5)
    res = score_sites(sites, spec_of(VACANT, half))
    assert res.table.loc["A", "contrib_stop"] == res.table.loc["B", "contrib_stop"]
    assert res.criteria.loc["stop", "precision"] == 0.5
    # a coarse precision can make the indicator constant
    coarse = Criterion("vacant", "vacant_poi_per_ha", weight=0.4, precision=10)
    with pytest.warns(CriteriaWarning, match="'vacant'.*precision 10.*does not discriminate"):
        res = score_sites(sites, spec_of(coarse, STOP))
    assert res.not_discriminating == ["vacant"]
    s = standardise(pd.Series([1.0, 1.4, 2.0]), Criterion("x", "x_min", weight=1, precision=1))
    assert s.tolist() == [0.0, 0.0, 1.0]


def test_precision_key_in_the_criteria_file():
    data = {"criterion": [{"name": "stop", "column": "stop_time_min", "weight": 1.0,
                           "precision": 0.5}]}
    spec = criteria_from_dict(data, source="c.toml")
    assert spec.criteria[0].precision == 0.5
    for bad in (0, -1.0, "0.5", True, float("inf")):
        data["criterion"][0]["precision"] = bad
        with pytest.raises(CriteriaError, match=r"c\.toml: criterion 'stop': precision must be "
                                                r"a finite number > 0 in the units of "
                                                r"'stop_time_min'"):
            criteria_from_dict(data, source="c.toml")
