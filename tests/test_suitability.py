"""Tests of productivecity.suitability: spec, TOML, standardisation, AHP, WLC/OWA, sensitivity."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from productivecity._errors import (
    CriteriaError,
    CriteriaWarning,
    DataSourceError,
    EmptyLayerError,
    SchemaError,
)
from productivecity.siting.criteria import (
    Constraint,
    CriteriaSpec,
    Criterion,
    ahp_weights,
    criteria_from_dict,
    load_criteria,
)
from productivecity.siting.scoring import score_sites, standardise
from productivecity.siting.sensitivity import monte_carlo_weights, one_at_a_time, sample_weights

EXAMPLE_TOML = (Path(__file__).resolve().parents[1] / "productivecity" / "data" / "criteria"
                / "brussels-canal.toml")


@pytest.fixture
def four_sites() -> pd.DataFrame:
    """Four sites, three criteria (jobseekers benefit, transit time cost, brownfield benefit)."""
    return pd.DataFrame(
        {
            "jobseekers_n": [100.0, 300.0, 200.0, 500.0],
            "stop_time_min": [2.0, 10.0, 6.0, 4.0],
            "brownfield_pct": [50.0, 0.0, 100.0, 25.0],
            "area_ha": [1.0, 2.0, 0.5, 3.0],
        },
        index=pd.Index(["A", "B", "C", "D"], name="site_id"),
    )


def equal_spec(**kw) -> CriteriaSpec:
    third = 1 / 3
    return CriteriaSpec(
        criteria=(
            Criterion("jobs", "jobseekers_n", weight=third),
            Criterion("stop", "stop_time_min", direction="cost", weight=third),
            Criterion("brown", "brownfield_pct", weight=third),
        ),
        **kw,
    )


# --------------------------------------------------------------------------- hand-computed WLC


def test_wlc_equal_weights_minmax_matches_hand_table(four_sites):
    # Min-max over the four sites:
    #   jobs  (benefit, min 100, max 500): A 0/400=0, B 200/400=0.5, C 100/400=0.25, D 1
    #   stop  (cost,    min 2,   max 10):  1-(x-2)/8: A 1, B 0, C 1-4/8=0.5, D 1-2/8=0.75
    #   brown (benefit, min 0,   max 100): A 0.5, B 0, C 1, D 0.25
    # Score = (jobs + stop + brown) / 3:
    #   A (0 + 1 + 0.5)/3 = 0.5
    #   B (0.5 + 0 + 0)/3 = 0.1667
    #   C (0.25 + 0.5 + 1)/3 = 0.5833
    #   D (1 + 0.75 + 0.25)/3 = 0.6667
    # Ranks: D 1, C 2, A 3, B 4.
    res = score_sites(four_sites, equal_spec())
    t = res.table
    assert t["score"].to_numpy() == pytest.approx([1.5 / 3, 0.5 / 3, 1.75 / 3, 2.0 / 3])
    assert t["rank"].tolist() == [3, 4, 2, 1]
    assert t.loc["C", "contrib_stop"] == pytest.approx(0.5 / 3)
    assert t.loc["D", "contrib_jobs"] == pytest.approx(1 / 3)
    assert not t["excluded"].any() and (t["excluded_reason"] == "").all()
    contrib = t[["contrib_jobs", "contrib_stop", "contrib_brown"]].sum(axis=1)
    assert contrib.to_numpy() == pytest.approx(t["score"].to_numpy())
    why = res.explain("D")
    assert why.index[0] == "jobs"  # largest contribution first
    assert why.loc["stop", "value"] == 4.0 and why.loc["stop", "standardised"] == 0.75
    assert why["contribution_pct"].sum() == pytest.approx(100)
    assert res.top(2).index.tolist() == ["D", "C"]


def test_inputs_not_mutated(four_sites):
    before = four_sites.copy()
    score_sites(four_sites, equal_spec(constraints=(Constraint("area_ha", min=0.8),)))
    pd.testing.assert_frame_equal(four_sites, before)


def test_constraints_exclude_with_reasons_and_restandardise(four_sites):
    sites = four_sites.copy()
    sites["landuse_excluded"] = ["false", "no", "0", "yes"]
    sites.loc["B", "stop_time_min"] = np.nan
    spec = equal_spec(
        constraints=(
            Constraint("area_ha", min=0.8, description="too small"),
            Constraint("landuse_excluded", exclude_if_true=True, description="park"),
        )
    )
    # only A remains: every criterion is constant -> warned, no weight, score 0
    with pytest.warns(CriteriaWarning, match="does not discriminate"), \
            pytest.warns(CriteriaWarning, match="no criterion of weight > 0 discriminates"):
        res = score_sites(sites, spec)
    t = res.table
    # B lacks a criterion value: not assessable, not excluded (issue 11 item 5)
    assert t["excluded"].tolist() == [False, False, True, True]
    assert t["status"].tolist() == ["eligible", "not assessable", "excluded", "excluded"]
    assert t.loc["C", "excluded_reason"] == "area_ha 0.5 < min 0.8 (too small)"
    assert t.loc["D", "excluded_reason"] == "landuse_excluded is true (park)"
    assert t.loc["B", "excluded_reason"] == ""
    assert t.loc["B", "missing_inputs"] == "stop_time_min"
    assert t.loc[["B", "C", "D"], "score"].isna().all()
    assert t.loc[["B", "C", "D"], "rank"].isna().all()
    assert t.loc["A", "rank"] == 1 and t.loc["A", "score"] == 0
    assert res.not_discriminating == ["jobs", "stop", "brown"]


def test_all_excluded_is_an_error(four_sites):
    spec = equal_spec(constraints=(Constraint("area_ha", max=0.1),))
    with pytest.raises(EmptyLayerError, match="all 4 candidate sites are excluded"):
        score_sites(four_sites, spec)


def test_missing_column_lists_available(four_sites):
    spec = CriteriaSpec(criteria=(Criterion("x", "no_such_col_n", weight=1.0),))
    with pytest.raises(SchemaError, match=r"no_such_col_n.*available columns.*jobseekers_n"):
        score_sites(four_sites, spec)


def test_non_numeric_criterion_column(four_sites):
    sites = four_sites.assign(jobseekers_n=["a", "b", "c", "d"])
    with pytest.raises(SchemaError, match="non-numeric"):
        score_sites(sites, equal_spec())


# --------------------------------------------------------------------------- weights


def test_weights_not_summing_to_one_are_normalised_with_warning():
    with pytest.warns(CriteriaWarning, match="sum to 4"):
        spec = CriteriaSpec(
            criteria=(Criterion("a", "a", weight=1.0), Criterion("b", "b", weight=3.0))
        )
    assert spec.weights.tolist() == pytest.approx([0.25, 0.75])


@pytest.mark.parametrize(
    ("criteria", "match"),
    [
        ((Criterion("a", "a", weight=0.5), Criterion("b", "b")), "have no weight"),
        ((Criterion("a", "a", weight=0.0),), "all zero"),
        ((Criterion("a", "a", weight=0.5), Criterion("a", "b", weight=0.5)), "unique"),
    ],
)
def test_bad_weights(criteria, match):
    with pytest.raises(CriteriaError, match=match):
        CriteriaSpec(criteria=criteria)


def test_negative_weight_refused():
    with pytest.raises(CriteriaError, match=">= 0"):
        Criterion("a", "a", weight=-0.2)


def test_criterion_validation():
    with pytest.raises(CriteriaError, match="breakpoints"):
        Criterion("a", "a", standardisation="fuzzy", weight=1)
    with pytest.raises(CriteriaError, match="ascending"):
        Criterion("a", "a", standardisation="fuzzy", breakpoints=(5, 1), weight=1)
    with pytest.raises(CriteriaError, match="direction"):
        Criterion("a", "a", direction="more", weight=1)
    with pytest.raises(CriteriaError, match="name"):
        Criterion("bad name", "a", weight=1)
    with pytest.raises(CriteriaError, match="give min, max"):
        Constraint("a")


# --------------------------------------------------------------------------- standardisation


def test_standardise_methods_by_hand():
    x = pd.Series([0.0, 5.0, 10.0, 10.0, 20.0])
    # rank: average ranks 1,2,3.5,3.5,5 -> (r-1)/4
    r = standardise(x, Criterion("r", "x", standardisation="rank", weight=1))
    assert r.tolist() == pytest.approx([0, 0.25, 0.625, 0.625, 1])
    # zscore: mean 9, population std sqrt((81+16+1+1+121)/5) = sqrt(44)
    z = standardise(x, Criterion("z", "x", standardisation="zscore", direction="cost", weight=1))
    assert z.tolist() == pytest.approx(
        [9 / 44**0.5, 4 / 44**0.5, -1 / 44**0.5, -1 / 44**0.5, -11 / 44**0.5]
    )
    # fuzzy cost ramp [5, 15]: 1 up to 5, 0 from 15, linear between
    f = standardise(
        x,
        Criterion(
            "f", "x", standardisation="fuzzy", breakpoints=(5, 15), direction="cost", weight=1
        ),
    )
    assert f.tolist() == pytest.approx([1, 1, 0.5, 0.5, 0])
    # trapezoid (0, 5, 10, 20)
    t = standardise(
        x, Criterion("t", "x", standardisation="fuzzy", breakpoints=(0, 5, 10, 20), weight=1)
    )
    assert t.tolist() == pytest.approx([0, 1, 1, 1, 0])
    assert f.name == "std_f"


def test_constant_criterion_warns():
    with pytest.warns(CriteriaWarning, match="does not discriminate"):
        s = standardise(pd.Series([3.0, 3.0]), Criterion("c", "x", weight=1))
    assert s.tolist() == [0.0, 0.0]  # contributes nothing, whatever its weight


# --------------------------------------------------------------------------- AHP


# Saaty's "relative wealth of nations" matrix (US, USSR, China, France, UK, Japan,
# W. Germany): T. L. Saaty (1977), "A scaling method for priorities in hierarchical
# structures", J. Math. Psychology 15:234-281, and Saaty (1980) The Analytic Hierarchy
# Process, ch. 2. Published eigenvector .427 .230 .021 .052 .052 .123 .094,
# lambda_max = 7.61; CR = ((7.61-7)/6)/1.32 = 0.077.
WEALTH = [
    [1, 4, 9, 6, 6, 5, 5],
    ["1/4", 1, 7, 5, 5, 3, 4],
    ["1/9", "1/7", 1, "1/5", "1/5", "1/7", "1/5"],
    ["1/6", "1/5", 5, 1, 1, "1/3", "1/3"],
    ["1/6", "1/5", 5, 1, 1, "1/3", "1/3"],
    ["1/5", "1/3", 7, 3, 3, 1, 2],
    ["1/5", "1/4", 5, 3, 3, "1/2", 1],
]

# Saaty's "choosing a house" criteria matrix (size, transportation, neighbourhood,
# age, yard, modern facilities, general condition, financing): T. L. Saaty (1990),
# "How to make a decision: the analytic hierarchy process", Eur. J. Oper. Res.
# 48:9-26, Table 2: priorities .173 .054 .188 .018 .031 .036 .167 .333,
# lambda_max = 9.669, CI = 0.238, CR = 0.169 (> 0.1: inconsistent).
HOUSE = [
    [1, 5, 3, 7, 6, 6, 1 / 3, 1 / 4],
    [1 / 5, 1, 1 / 3, 5, 3, 3, 1 / 5, 1 / 7],
    [1 / 3, 3, 1, 6, 3, 4, 6, 1 / 5],
    [1 / 7, 1 / 5, 1 / 6, 1, 1 / 3, 1 / 4, 1 / 7, 1 / 8],
    [1 / 6, 1 / 3, 1 / 3, 3, 1, 1 / 2, 1 / 5, 1 / 6],
    [1 / 6, 1 / 3, 1 / 4, 4, 2, 1, 1 / 5, 1 / 6],
    [3, 5, 1 / 6, 7, 5, 5, 1, 1 / 2],
    [4, 7, 5, 8, 6, 6, 2, 1],
]


def test_ahp_saaty_wealth_of_nations():
    res = ahp_weights(WEALTH)
    assert res.weights.to_numpy() == pytest.approx(
        [0.427, 0.230, 0.021, 0.052, 0.052, 0.123, 0.094], abs=6e-4
    )
    assert res.lambda_max == pytest.approx(7.61, abs=0.005)
    assert res.random_index == 1.32
    assert res.consistency_ratio == pytest.approx(0.077, abs=0.001)


def test_ahp_saaty_house_is_refused_then_accepted_knowingly():
    with pytest.raises(CriteriaError, match=r"CR = 0\.169 > 0\.1"):
        ahp_weights(HOUSE)
    res = ahp_weights(HOUSE, max_consistency_ratio=None)
    assert res.weights.to_numpy() == pytest.approx(
        [0.173, 0.054, 0.188, 0.018, 0.031, 0.036, 0.167, 0.333], abs=6e-4
    )
    assert res.lambda_max == pytest.approx(9.669, abs=5e-4)
    assert res.consistency_index == pytest.approx(0.238, abs=5e-4)
    assert res.random_index == 1.41


def test_ahp_consistent_matrix_recovers_weights():
    w = np.array([0.5, 0.3, 0.15, 0.05])
    m = w[:, None] / w[None, :]
    res = ahp_weights(m, criteria=list("abcd"))
    assert res.weights.to_numpy() == pytest.approx(w)
    assert res.consistency_ratio == pytest.approx(0, abs=1e-9)


def test_ahp_not_reciprocal():
    with pytest.raises(CriteriaError, match="not reciprocal"):
        ahp_weights([[1, 3], [3, 1]])
    with pytest.raises(CriteriaError, match="square"):
        ahp_weights([[1, 3], [1 / 3]])


# --------------------------------------------------------------------------- OWA


def test_owa_equal_order_weights_equals_wlc(four_sites):
    wlc = score_sites(four_sites, equal_spec())
    with pytest.warns(CriteriaWarning, match="owa_order_weights sum to 3"):
        spec = equal_spec(method="owa", owa_order_weights=(1, 1, 1))
    owa = score_sites(four_sites, spec)
    assert owa.table["score"].to_numpy() == pytest.approx(wlc.table["score"].to_numpy())


def test_owa_extremes_are_max_and_min(four_sites):
    std = score_sites(four_sites, equal_spec()).standardised
    opt = score_sites(four_sites, equal_spec(method="owa", owa_order_weights=(1, 0, 0)))
    pess = score_sites(four_sites, equal_spec(method="owa", owa_order_weights=(0, 0, 1)))
    assert opt.table["score"].to_numpy() == pytest.approx(std.max(axis=1).to_numpy())
    assert pess.table["score"].to_numpy() == pytest.approx(std.min(axis=1).to_numpy())
    contrib = pess.table.filter(like="contrib_").sum(axis=1)
    assert contrib.to_numpy() == pytest.approx(pess.table["score"].to_numpy())


def test_owa_needs_order_weights():
    with pytest.raises(CriteriaError, match="owa_order_weights"):
        equal_spec(method="owa")
    with pytest.raises(CriteriaError, match="2 values but there are 3"):
        equal_spec(method="owa", owa_order_weights=(0.5, 0.5))


# --------------------------------------------------------------------------- TOML


def test_example_criteria_file_loads_and_scores():
    with np.errstate(all="raise"):
        spec = load_criteria(EXAMPLE_TOML)
    assert spec.weights.sum() == pytest.approx(1)
    cols = {c.column for c in spec.criteria} | {c.column for c in spec.constraints}
    # every column the example names is an indicator the package computes
    from productivecity.indicators.table import INDICATORS

    assert cols <= set(INDICATORS), cols - set(INDICATORS)
    rng = np.random.default_rng(3)
    sites = pd.DataFrame({c: rng.uniform(0, 30, 50) for c in cols})
    sites["open_land_share_pct"] = np.where(rng.random(50) < 0.2, 80.0, 10.0)
    res = score_sites(sites, spec)
    assert res.table["excluded"].sum() >= (sites["open_land_share_pct"] > 50).sum()
    assert spec.sensitivity.runs == 1000


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "c.toml"
    p.write_text(textwrap.dedent(text))
    return p


def test_toml_ahp_and_constraints(tmp_path):
    p = write(
        tmp_path,
        """
        name = "t"
        method = "wlc"
        [[criterion]]
        name = "jobs"
        column = "jobseekers_n"
        [[criterion]]
        name = "stop"
        column = "stop_time_min"
        direction = "cost"
        standardisation = "fuzzy"
        breakpoints = [2, 10]
        [ahp]
        criteria = ["stop", "jobs"]
        matrix = [[1, "1/3"], [3, 1]]
        [[constraint]]
        column = "area_ha"
        min = 0.8
        [sensitivity]
        runs = 50
        seed = 7
        """,
    )
    spec = load_criteria(p)
    assert spec.weights.to_dict() == pytest.approx({"jobs": 0.75, "stop": 0.25})
    assert spec.ahp is not None and spec.ahp.consistency_ratio == 0
    assert spec.sensitivity.runs == 50 and spec.sensitivity.top_k == 10


def test_toml_unknown_key_lists_known(tmp_path):
    p = write(
        tmp_path,
        """
        [[criterion]]
        name = "a"
        column = "a"
        wieght = 1
        """,
    )
    with pytest.raises(
        CriteriaError, match=r"unknown key\(s\) \['wieght'\]; known keys: .*'weight'"
    ):
        load_criteria(p)
    p = write(tmp_path, 'titel = "x"\n[[criterion]]\nname="a"\ncolumn="a"\nweight=1\n')
    with pytest.raises(CriteriaError, match=r"c\.toml: unknown key\(s\) \['titel'\]"):
        load_criteria(p)


def test_toml_errors(tmp_path):
    with pytest.raises(DataSourceError, match="cannot read criteria file"):
        load_criteria(tmp_path / "missing.toml")
    with pytest.raises(CriteriaError, match="not valid TOML"):
        load_criteria(write(tmp_path, "[[criterion]\n"))
    bad_ahp = {
        "criterion": [{"name": n, "column": n} for n in "abcdefgh"],
        "ahp": {"matrix": HOUSE},
    }
    with pytest.raises(CriteriaError, match="too inconsistent"):
        criteria_from_dict(bad_ahp)
    bad_ahp["ahp"]["max_consistency_ratio"] = 0.2
    assert criteria_from_dict(bad_ahp).weights["h"] == pytest.approx(0.333, abs=6e-4)
    both = {"criterion": [{"name": "a", "column": "a", "weight": 1.0}], "ahp": {"matrix": [[1]]}}
    with pytest.raises(CriteriaError, match="both directly"):
        criteria_from_dict(both)


# --------------------------------------------------------------------------- sensitivity


def test_sample_weights_moments():
    w = pd.Series([0.5, 0.3, 0.2, 0.0], index=list("abcd"))
    s = sample_weights(w, runs=40_000, spread=0.1, seed=1)
    assert np.allclose(s.sum(axis=1), 1)
    assert (s["d"] == 0).all()
    assert s.mean().to_numpy() == pytest.approx(w.to_numpy(), abs=2e-3)
    expected_sd = 0.1 * np.sqrt(w * (1 - w))
    assert s.std().to_numpy() == pytest.approx(expected_sd.to_numpy(), abs=2e-3)


def test_monte_carlo_against_loop_reference():
    rng = np.random.default_rng(5)
    sites = pd.DataFrame(rng.random((40, 3)), columns=["a", "b", "c"])
    spec = CriteriaSpec(
        criteria=tuple(
            Criterion(n, n, weight=w) for n, w in zip("abc", (0.5, 0.3, 0.2), strict=True)
        )
    )
    res = score_sites(sites, spec)
    mc = monte_carlo_weights(res, runs=200, spread=0.2, seed=11, top_k=5)
    # independent reference: rescore with pandas for every sampled weight vector
    std = res.standardised
    ranks = np.column_stack(
        [
            (std * mc.weights.iloc[r]).sum(axis=1).rank(method="min", ascending=False)
            for r in range(len(mc.weights))
        ]
    )
    assert mc.table["topk_share"].to_numpy() == pytest.approx((ranks <= 5).mean(axis=1))
    np.testing.assert_array_equal(mc.table["rank_min"].to_numpy(), ranks.min(axis=1))
    np.testing.assert_array_equal(mc.table["rank_max"].to_numpy(), ranks.max(axis=1))
    np.testing.assert_array_equal(
        mc.table["rank_p50"].to_numpy(), np.quantile(ranks, 0.5, axis=1, method="nearest")
    )
    again = monte_carlo_weights(res, runs=200, spread=0.2, seed=11, top_k=5)
    pd.testing.assert_frame_equal(mc.table, again.table)


def test_monte_carlo_dominant_site_and_excluded(four_sites):
    sites = four_sites.copy()
    sites.loc["E"] = [1000.0, 0.0, 200.0, 0.1]  # best on all criteria, but too small
    sites.loc["F"] = [900.0, 1.0, 150.0, 5.0]  # best on all among the eligible
    spec = equal_spec(constraints=(Constraint("area_ha", min=0.2),))
    mc = monte_carlo_weights(score_sites(sites, spec), runs=300, spread=0.3, seed=0, top_k=1)
    assert mc.table.loc["F", "topk_share"] == 1.0
    assert mc.table.loc["F", ["rank_p05", "rank_p95"]].tolist() == [1, 1]
    assert mc.table.loc["E"].drop("rank").isna().all()


def test_one_at_a_time_endpoints(four_sites):
    res = score_sites(four_sites, equal_spec())
    oat = one_at_a_time(res, steps=5, top_k=2)
    std = res.standardised
    for name in ("jobs", "stop", "brown"):
        # all weight on one criterion: ranks are that criterion's standardised ranks
        expect = std[name].rank(method="min", ascending=False)
        assert oat.ranks[(name, 1.0)].tolist() == expect.tolist()
    assert oat.summary.loc[("jobs", 1.0), "top1_site_id"] == "D"
    assert oat.summary.loc[("brown", 1.0), "top1_site_id"] == "C"
    assert len(oat.summary) == 15


@pytest.mark.slow
def test_monte_carlo_5000_sites_scores_runs_in_blocks(monkeypatch):
    from productivecity.siting import sensitivity

    rng = np.random.default_rng(0)
    sites = pd.DataFrame(rng.random((5000, 10)), columns=[f"c{j}" for j in range(10)])
    spec = CriteriaSpec(criteria=tuple(Criterion(c, c, weight=0.1) for c in sites.columns))
    res = score_sites(sites, spec)
    blocks = []
    real = sensitivity._scores_for_weights

    def spy(result, weights):
        blocks.append(len(weights))
        return real(result, weights)

    monkeypatch.setattr(sensitivity, "_scores_for_weights", spy)
    mc = monte_carlo_weights(res, runs=1000, seed=1)
    # vectorised: the 1000 runs are scored in a few matrix products, not one run at a time
    assert sum(blocks) == 1000 and len(blocks) <= 10
    assert mc.table["topk_share"].sum() == pytest.approx(10, abs=0.5)
