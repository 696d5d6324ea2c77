"""Hub profiles (issue 13 item 6): the neighbourhood and city-wide criteria, the catalogue
profiles, the two-tier allocation (against a brute-force enumeration) and the scenarios."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pandas as pd
import pytest

from productivecity._errors import AllocationError, CriteriaError, CriteriaWarning
from productivecity.siting.allocation import travel_times_from_pairs, two_tier_covering
from productivecity.siting.criteria import criteria_from_dict, load_criteria, usable_criteria
from productivecity.sources.hubs import HUB_PROFILES, catalogue, hub_profiles
from productivecity.workflow.config import load_config
from productivecity.workflow.examples import example_path

PROFILE_FILES = {"neighbourhood": "neighbourhood", "city-wide": "city-wide"}
TRANSIT_COLUMNS = {"jobseekers_low_edu_transit_30min_n", "transit_time_canal_districts_min"}


# --------------------------------------------------------------------------- criteria profiles


@pytest.fixture(scope="module")
def sample_table():
    """The sample town's site indicators with a 15-minute walk catchment (about 2 s)."""
    import productivecity as pc
    from productivecity.indicators.options import IndicatorOptions
    from productivecity.indicators.table import site_indicators
    from productivecity.workflow.inputs import load_indicator_inputs

    layers = pc.load_layers("sample", progress=False)
    inputs = load_indicator_inputs(layers)
    sites, _ = pc.candidate_sites(layers, "grid", cell_m=250.0)
    table, _ = site_indicators(sites, layers, inputs,
                               options=IndicatorOptions(walk_limits_min=(15.0, 20.0)))
    return table


@pytest.mark.parametrize("profile", list(PROFILE_FILES))
def test_profiles_load_with_their_profile_and_reasoning(profile):
    spec = load_criteria(example_path(PROFILE_FILES[profile], kind="criteria"))
    assert spec.profile == profile
    assert spec.description and len(spec.criteria) >= 6
    assert abs(float(spec.weights.sum()) - 1) < 1e-9  # given weights sum to 1: no warning
    text = example_path(PROFILE_FILES[profile], kind="criteria").read_text(encoding="utf-8")
    assert "Why these criteria" in text


def test_profiles_differ_where_the_issue_says():
    nb = load_criteria(example_path("neighbourhood", kind="criteria"))
    cw = load_criteria(example_path("city-wide", kind="criteria"))
    min_area = {s.name: next(c.min for c in s.constraints if c.column == "area_ha")
                for s in (nb, cw)}
    assert min_area["neighbourhood"] < 0.1 < min_area["city-wide"]  # small sites vs larger
    assert any("walk_15min" in c.column for c in nb.criteria)
    assert not any("bike_20min" in c.column or "transit" in c.column for c in nb.criteria)
    cols = {c.column for c in cw.criteria}
    assert TRANSIT_COLUMNS <= cols and "jobseekers_low_edu_bike_20min_n" in cols
    assert "rail_station_walk_time_min" in cols
    # only the public-transport criteria are optional
    assert {c.column for c in cw.criteria if c.optional} == TRANSIT_COLUMNS
    assert not any(c.optional for c in nb.criteria)


def test_profile_key_is_validated():
    base = {"criterion": [{"name": "a", "column": "x_n", "weight": 1.0}]}
    assert criteria_from_dict({**base, "profile": "city-wide"}).profile == "city-wide"
    assert criteria_from_dict(base).profile == ""
    with pytest.raises(CriteriaError, match="profile 'regional' is not one of"):
        criteria_from_dict({**base, "profile": "regional"})
    with pytest.raises(CriteriaError, match="optional must be true or false"):
        criteria_from_dict({"criterion": [{"name": "a", "column": "x_n", "weight": 1.0,
                                           "optional": "yes"}]})


def test_optional_absent_column_is_dropped_with_a_note_and_required_one_is_not():
    table = pd.DataFrame({"a_n": [1.0, 2.0, 3.0]})
    spec = criteria_from_dict({"criterion": [
        {"name": "a", "column": "a_n", "weight": 0.6},
        {"name": "t", "column": "transit_x_min", "weight": 0.4, "optional": True}]})
    with pytest.warns(CriteriaWarning, match="not computed in this run"):
        kept, dropped = usable_criteria(spec, table)
    assert [c.name for c in kept.criteria] == ["a"] and kept.weights["a"] == 1.0
    assert dropped == ["criterion 't' (transit_x_min, not computed in this run)"]
    with pytest.raises(CriteriaError, match="strict scoring refuses"):
        usable_criteria(spec, table, strict=True)
    # without optional an absent column is left to the scoring's error (a typo)
    plain = criteria_from_dict({"criterion": [
        {"name": "a", "column": "a_n", "weight": 0.6},
        {"name": "t", "column": "transit_x_min", "weight": 0.4}]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        same, none = usable_criteria(plain, table)
    assert same is plain and none == []


def test_each_profile_ranks_the_sample_and_gives_its_own_shortlist(sample_table):
    from productivecity.siting.ranking import rank_sites
    from productivecity.siting.scoring import site_statuses

    # without public-transport indicators (a run without a transit network)
    sample_table = sample_table.drop(columns=[c for c in sample_table.columns
                                              if "transit" in c])
    tops, eligible = {}, {}
    for profile, name in PROFILE_FILES.items():
        spec = load_criteria(example_path(name, kind="criteria"))
        if profile == "city-wide":
            with pytest.warns(CriteriaWarning, match="not computed in this run"):
                spec, dropped = usable_criteria(spec, sample_table)
            assert len(dropped) == 2 and all("transit" in d for d in dropped)
            assert abs(float(spec.weights.sum()) - 1) < 1e-9
        else:
            spec, dropped = usable_criteria(spec, sample_table)
            assert dropped == []
        ranked, result, _, _ = rank_sites(sample_table, spec, progress=False)
        ok = ranked.loc[ranked["score"].notna()]
        assert len(ok) >= 10
        tops[profile] = list(ok.sort_values("rank").index[:10])
        eligible[profile] = site_statuses(ranked).eq("eligible")
    assert tops["neighbourhood"] != tops["city-wide"]
    # the small-site rule differs: sites of 0.02-0.5 ha are never eligible city-wide, some are
    # in the neighbourhood profile
    small = sample_table["area_ha"].between(0.02, 0.5, inclusive="left")
    assert small.sum() >= 10
    assert not eligible["city-wide"][small].any()
    assert eligible["neighbourhood"][small].sum() >= 5


def test_city_wide_uses_the_transit_indicators_where_they_exist(sample_table):
    from productivecity.siting.ranking import rank_sites

    table = sample_table.drop(columns=[c for c in sample_table.columns if "transit" in c])
    rng = np.random.default_rng(0)
    table["jobseekers_low_edu_transit_30min_n"] = rng.integers(0, 5000, len(table)).astype(float)
    table["transit_time_canal_districts_min"] = rng.uniform(5, 60, len(table))
    spec = load_criteria(example_path("city-wide", kind="criteria"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing dropped
        used, dropped = usable_criteria(spec, table)
    assert dropped == [] and used is spec
    ranked, *_ = rank_sites(table, used, progress=False)
    best = ranked.loc[ranked["rank"] == 1].iloc[0]
    assert best["contrib_target_group_transit"] > 0
    # all NaN (the run has a network but no site reaches a stop): dropped by the old rule
    table["transit_time_canal_districts_min"] = np.nan
    with pytest.warns(CriteriaWarning, match="from_canal_districts"):
        _, dropped = usable_criteria(spec, table)
    assert dropped == ["criterion 'from_canal_districts' (transit_time_canal_districts_min)"]


# --------------------------------------------------------------------------- catalogue


def test_catalogue_profiles_are_sourced_and_never_guessed():
    cat = catalogue()
    assert set(cat["profile"]) <= set(HUB_PROFILES)
    known = cat["profile"] != "unknown"
    assert known.sum() >= 5
    assert cat.loc[known, "profile_source"].str.len().gt(40).all()  # a source and a reason
    assert cat.loc["t2-campus", "profile"] == "city-wide"
    assert cat.loc["atelier-groot-eiland", "profile"] == "city-wide"
    assert "Actiris" in cat.loc["atelier-groot-eiland", "profile_source"]
    # documented as silent on reach: stays unknown
    for hub in ("openfab", "urlab", "imal-fablab", "budafabriek", "broei"):
        assert cat.loc[hub, "profile"] == "unknown"
    prof = hub_profiles(["timelab", "not-in-catalogue"])
    assert prof.tolist() == ["city-wide", "unknown"] and prof.name == "profile"


# --------------------------------------------------------------------------- two-tier allocation


def _instance(seed: int, *, n_cand: int = 6, n_dem: int = 9, n_exist: int = 3):
    """A random walk tier and a wider tier on the same candidates, as TravelTimes."""
    rng = np.random.default_rng(seed)
    cand = [f"c{i}" for i in range(n_cand)]
    exist = [f"h{i}" for i in range(n_exist)]
    demand = pd.Series(rng.integers(0, 50, n_dem).astype(float),
                       index=[f"d{i}" for i in range(n_dem)], name="jobseekers_n")
    tts = {}
    for tier, limit, scale in (("neighbourhood", 15.0, 20.0), ("city-wide", 30.0, 45.0)):
        rows = [(d, f, float(rng.uniform(0, scale)))
                for d in demand.index for f in cand + exist if rng.random() < 0.45]
        pairs = pd.DataFrame(rows, columns=["demand_id", "site_id", "time_min"])
        tts[tier] = travel_times_from_pairs(pairs, demand, candidates=cand, existing=exist,
                                            limit_min=limit)
    profiles = pd.Series({"h0": "neighbourhood", "h1": "city-wide", "h2": "unknown"})
    return tts, profiles


def _brute_force(tts, k, profiles, *, unknown="both", served_by=None, exclusive=True,
                 allowed=None):
    """Best weighted coverage by enumerating every assignment of sites to tiers."""
    names = list(tts)
    cand = list(tts[names[0]].candidates)
    allowed = allowed or {n: cand for n in names}
    serving = {n: {n, *(served_by or {}).get(n, ())} for n in names}
    frames = {n: tts[n].to_frame() for n in names}
    best = -1.0
    for a in itertools.combinations(allowed[names[0]], k[names[0]]):
        rest = [c for c in allowed[names[1]] if not exclusive or c not in a]
        for b in itertools.combinations(rest, k[names[1]]):
            new = {names[0]: set(a), names[1]: set(b)}
            total = 0.0
            for n in names:
                f = frames[n]
                open_ids = set().union(*(new[s] for s in serving[n]))
                for h in tts[n].existing:
                    p = profiles.get(h, "unknown")
                    if p in serving[n] or (p == "unknown" and unknown == "both"):
                        open_ids.add(h)
                hit = f.loc[f["facility_id"].isin(open_ids), "demand_id"].unique()
                total += float(tts[n].demand.loc[hit].sum())
            best = max(best, total)
    return best


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
@pytest.mark.parametrize("unknown", ["both", "none"])
def test_two_tier_equals_brute_force_and_conserves_demand(seed, unknown):
    tts, profiles = _instance(seed)
    k = {"neighbourhood": 2, "city-wide": 1}
    res = two_tier_covering(tts, k, hub_profiles=profiles, unknown_profile=unknown)
    assert res.optimal
    ref = _brute_force(tts, k, profiles, unknown=unknown)
    assert res.objective == pytest.approx(ref)
    got = sum(r.covered_demand_n for r in res.tiers.values())
    assert got == pytest.approx(ref)  # the coverage re-measured from the chosen sites
    sel = [s for r in res.tiers.values() for s in r.selected]
    assert len(sel) == len(set(sel)) == 3  # one hub per site
    for name, r in res.tiers.items():
        assert r.covered_demand_n + r.uncovered_demand_n == pytest.approx(r.total_demand_n)
        assert r.total_demand_n == pytest.approx(float(tts[name].demand.sum()))
        assert r.assignment["demand_n"].sum() == pytest.approx(r.total_demand_n)
        assert r.covered_demand_n >= r.baseline_covered_demand_n - 1e-9
        open_exist = set(r.existing_open)
        assert ("h2" in open_exist) == (unknown == "both")  # the unknown-profile hub
        other = "city-wide" if name == "neighbourhood" else "neighbourhood"
        assert (profiles[profiles == other].index[0]) not in open_exist
        assert profiles[profiles == name].index[0] in open_exist
        served = r.assignment.dropna(subset=["facility_id"])
        assert (served["time_min"] <= r.limit_min).all()
    summary = res.summary()
    assert list(summary.index) == ["neighbourhood", "city-wide"]


def test_two_tier_nested_and_non_exclusive_match_brute_force():
    tts, profiles = _instance(7)
    k = {"neighbourhood": 2, "city-wide": 2}
    nested = {"neighbourhood": ["city-wide"]}
    res = two_tier_covering(tts, k, hub_profiles=profiles, served_by=nested)
    assert res.objective == pytest.approx(_brute_force(tts, k, profiles, served_by=nested))
    assert res.tiers["neighbourhood"].serving == ("neighbourhood", "city-wide")
    free = two_tier_covering(tts, k, hub_profiles=profiles, exclusive=False)
    assert free.objective == pytest.approx(_brute_force(tts, k, profiles, exclusive=False))
    plain = two_tier_covering(tts, k, hub_profiles=profiles)
    assert free.objective >= plain.objective - 1e-9 and res.objective >= plain.objective - 1e-9


def test_two_tier_per_tier_candidates_match_brute_force():
    tts, profiles = _instance(11, n_cand=7)
    k = {"neighbourhood": 2, "city-wide": 2}
    allowed = {"neighbourhood": ["c0", "c1", "c2", "c3", "c4"], "city-wide": ["c3", "c4", "c5",
                                                                              "c6"]}
    res = two_tier_covering(tts, k, hub_profiles=profiles, candidates=allowed)
    assert res.objective == pytest.approx(_brute_force(tts, k, profiles, allowed=allowed))
    for tier, ids in allowed.items():
        assert set(res.tiers[tier].selected) <= set(ids)
    with pytest.raises(AllocationError, match="candidates names tier"):
        two_tier_covering(tts, k, candidates={"regional": ["c0"]})


def test_two_tier_hand_worked_one_site_serves_one_tier():
    # c0 reaches every demand point in both tiers, c1 none: with one hub per site only one
    # tier gets c0 (the heavier weighted one), without that rule both do
    demand = pd.Series([10.0, 30.0], index=["d0", "d1"])
    pairs = pd.DataFrame({"demand_id": ["d0", "d1"], "site_id": ["c0", "c0"],
                          "time_min": [5.0, 9.0]})
    tt = travel_times_from_pairs(pairs, demand, candidates=["c0", "c1"], limit_min=10.0)
    tts = {"neighbourhood": tt, "city-wide": tt}
    k = {"neighbourhood": 1, "city-wide": 1}
    res = two_tier_covering(tts, k, weights={"neighbourhood": 1.0, "city-wide": 2.0})
    assert res.tiers["city-wide"].selected == ("c0",)
    assert res.tiers["neighbourhood"].selected == ("c1",)
    assert res.objective == pytest.approx(80.0)  # 2 x 40 city-wide + 0 neighbourhood
    assert res.tiers["neighbourhood"].uncovered_demand_n == 40.0
    both = two_tier_covering(tts, k, exclusive=False)
    assert both.objective == pytest.approx(80.0)  # 40 + 40
    assert both.tiers["neighbourhood"].selected == both.tiers["city-wide"].selected == ("c0",)


def test_two_tier_takes_a_function_and_checks_its_inputs():
    tts, profiles = _instance(5)
    res = two_tier_covering({"neighbourhood": lambda: tts["neighbourhood"],
                             "city-wide": tts["city-wide"]},
                            {"neighbourhood": 1, "city-wide": 1}, hub_profiles=profiles,
                            limit_min={"neighbourhood": 10.0})
    assert res.tiers["neighbourhood"].limit_min == 10.0
    with pytest.raises(AllocationError, match="exceeds the travel-time cutoff"):
        two_tier_covering(tts, {"neighbourhood": 1, "city-wide": 1},
                          limit_min={"neighbourhood": 16.0})
    with pytest.raises(AllocationError, match="without travel times"):
        two_tier_covering(tts, {"neighbourhood": 1, "city-wide": 1, "regional": 1})
    with pytest.raises(AllocationError, match="one hub per site"):
        two_tier_covering(tts, {"neighbourhood": 4, "city-wide": 3})
    with pytest.raises(AllocationError, match="unknown_profile must be one of"):
        two_tier_covering(tts, {"neighbourhood": 1, "city-wide": 1}, unknown_profile="half")
    other = travel_times_from_pairs(pd.DataFrame(columns=["demand_id", "site_id", "time_min"]),
                                    tts["city-wide"].demand, candidates=["x1"], limit_min=30.0)
    with pytest.raises(AllocationError, match="other candidate sites"):
        two_tier_covering({"neighbourhood": tts["neighbourhood"], "city-wide": other},
                          {"neighbourhood": 1, "city-wide": 0})


# --------------------------------------------------------------------------- scenarios


@pytest.mark.parametrize(("scenario", "profile"),
                         [("brussels-vilvoorde-neighbourhood", "neighbourhood"),
                          ("brussels-vilvoorde-citywide", "city-wide")])
def test_profile_scenarios_validate(scenario, profile):
    cfg = load_config(example_path(scenario, kind="scenario"))
    assert cfg.name == scenario and cfg.criteria.profile == profile
    if profile == "neighbourhood":
        assert 15.0 in cfg["indicators"]["walk_limits_min"]
        assert cfg["allocation"]["mode"] == "walk"


# --------------------------------------------------------------------------- outputs


def _texts(fig) -> str:
    out = [t.get_text() for t in fig.texts]
    for ax in fig.axes:
        out += [ax.get_title(), *(t.get_text() for t in ax.texts)]
    return "\n".join(out)


def test_atlas_and_report_say_which_profile(sample_table, tmp_path):
    import matplotlib.pyplot as plt

    import productivecity as pc
    from productivecity.outputs.maps import iter_atlas_figures
    from productivecity.outputs.report import write_report
    from productivecity.siting.ranking import rank_sites

    layers = pc.load_layers("sample", progress=False)
    spec = load_criteria(example_path("neighbourhood", kind="criteria"))
    ranked, *_ = rank_sites(sample_table, spec, progress=False)
    pages = dict(iter_atlas_figures(ranked, layers, spec=spec, lang="nl", indicators=[],
                                    only=["cover", "overview"]))
    try:
        assert "Hubprofiel: buurt (10-15 min te voet)" in _texts(pages["cover"])
        assert "Hubprofiel: buurt" in _texts(pages["overview"])
        if __import__("os").environ.get("PC_SAVE_PNG"):  # for a look at the pages
            for name, fig in pages.items():
                fig.savefig(tmp_path.parent / f"profile_{name}.png", dpi=60)
    finally:
        for fig in pages.values():
            plt.close(fig)
    write_report(ranked, tmp_path / "report.html", layers=layers, spec=spec, lang="fr", top_k=3)
    head = (tmp_path / "report.html").read_text(encoding="utf-8")
    sub = head.split("<p class='sub'>", 1)[1].split("</p>", 1)[0]
    assert "Profil du lieu: de quartier (10-15 min à pied)" in sub
    # a profile-less criteria file says nothing about profiles
    plain = load_criteria(example_path("brussels-canal", kind="criteria"))
    assert plain.profile == ""
