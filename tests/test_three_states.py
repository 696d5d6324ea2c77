"""Issue 11 item 5: eligible, excluded by a rule, not assessable (no data) — shown as three."""

from __future__ import annotations

import geopandas as gpd
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.text import Text
from shapely.geometry import box

from productivecity._errors import EmptyLayerError
from productivecity.outputs import maps, report, webmap
from productivecity.siting.backtest import backtest_hubs
from productivecity.siting.coverage import OUTSIDE_UNITS, data_coverage
from productivecity.siting.criteria import Constraint, CriteriaSpec, Criterion
from productivecity.siting.scoring import score_sites, site_statuses, status_counts

SPEC = CriteriaSpec(
    criteria=(Criterion("jobs", "jobseekers_n", weight=0.5),
              Criterion("stop", "stop_time_min", direction="cost", weight=0.5)),
    constraints=(Constraint("area_ha", min=1.0, description="too small"),),
)


@pytest.fixture
def sites() -> gpd.GeoDataFrame:
    # A, B, C eligible; D lacks a criterion value (not assessable); E fails the area
    # rule and lacks a criterion value (not assessable, the failed rule beside);
    # F lacks the constraint value (not assessable); G fails the area rule with every
    # value known (excluded). Cells 100 m wide, x = 0..700 m.
    return gpd.GeoDataFrame(
        {"jobseekers_n": [100.0, 300.0, 200.0, np.nan, np.nan, 50.0, 80.0],
         "stop_time_min": [5.0, 3.0, 8.0, 4.0, 2.0, 6.0, 1.0],
         "area_ha": [2.0, 3.0, 1.5, 2.0, 0.5, np.nan, 0.4]},
        geometry=[box(100 * i, 0, 100 * i + 100, 100) for i in range(7)],
        index=pd.Index(list("ABCDEFG"), name="site_id"), crs=31370)


def test_missing_value_is_not_assessable_and_a_failed_rule_is_excluded(sites):
    t = score_sites(sites, SPEC).table
    assert t["status"].tolist() == (["eligible"] * 3 + ["not assessable"] * 3
                                    + ["excluded"])
    assert t["excluded"].tolist() == [False] * 6 + [True]
    # not assessable: no score, no rank, no rule named, the missing columns listed
    assert t.loc["D", "excluded_reason"] == "" and t.loc["D", "missing_inputs"] == "jobseekers_n"
    assert t.loc["F", "missing_inputs"] == "area_ha"
    assert t.loc[["D", "F"], "score"].isna().all() and t.loc[["D", "F"], "rank"].isna().all()
    # a missing input wins over a rule failed on the known values (kept beside)
    assert t.loc["E", "excluded_reason"] == "area_ha 0.5 < min 1 (too small)"
    assert t.loc["E", "missing_inputs"] == "jobseekers_n"
    # excluded: a rule failed with every value known
    assert t.loc["G", "excluded_reason"] == "area_ha 0.4 < min 1 (too small)"
    assert t.loc["G", "missing_inputs"] == ""
    # only the eligible sites are standardised and ranked
    assert sorted(t["rank"].dropna().tolist()) == [1, 2, 3]
    assert status_counts(t) == {"eligible": 3, "excluded": 1, "not assessable": 3}


def test_no_eligible_site_error_counts_both_states(sites):
    none = sites.assign(jobseekers_n=[np.nan] * 5 + [1.0, 2.0],
                        area_ha=[2.0, 2.0, 2.0, 2.0, 0.5, 0.2, 0.3])
    with pytest.raises(EmptyLayerError,
                       match=r"all 7 candidate sites .*: 2 excluded by a rule, 5 not assessable"):
        score_sites(none, SPEC)


def test_site_statuses_without_a_status_column():
    t = pd.DataFrame({"score": [0.3, np.nan, np.nan], "excluded": [False, True, False]})
    assert site_statuses(t).tolist() == ["eligible", "excluded", "not assessable"]


def test_data_coverage_counts_add_up(sites):
    ranked = sites.join(score_sites(sites, SPEC).table)
    units = gpd.GeoDataFrame({"name": ["West", "East", "Empty"]},
                             geometry=[box(0, 0, 250, 100), box(250, 0, 500, 100),
                                       box(0, 500, 100, 600)], crs=31370)
    cov = data_coverage(ranked, units)
    # F and G (x 500-700) have their centroids in no unit
    assert cov.index.tolist() == ["West", "East", "Empty", OUTSIDE_UNITS]
    assert cov["sites_n"].sum() == len(sites)
    parts = cov[["eligible_n", "excluded_n", "not_assessable_n"]].sum(axis=1)
    assert (parts == cov["sites_n"]).all()
    # C (x 200-300, centroid 250) sits on the West/East edge: the first unit
    assert cov.loc["West"].tolist()[:4] == [3, 3, 0, 0]
    assert cov.loc["East"].tolist()[:4] == [2, 0, 0, 2]
    assert cov.loc["East", "missing_columns"] == "jobseekers_n"
    assert cov.loc["East", "missing_inputs"].endswith(" 100 %")  # D and E both lack it
    assert cov.loc["Empty"].tolist()[:4] == [0, 0, 0, 0]
    assert cov.loc[OUTSIDE_UNITS, "missing_columns"] == "area_ha"
    html = "".join(report.coverage_section(cov, "nl"))
    assert "Gegevensdekking per gemeente" in html and "Buiten de gemeenten" in html


def test_outputs_draw_no_data_apart_from_excluded(sites):
    ranked = sites.join(score_sites(sites, SPEC).table)
    popup_d = webmap.site_popup_html(ranked.loc["D"], site_id="D", lang="en")
    popup_e = webmap.site_popup_html(ranked.loc["E"], site_id="E", lang="en")
    popup_g = webmap.site_popup_html(ranked.loc["G"], site_id="G", lang="en")
    assert "Not assessable: no value for" in popup_d and "Excluded" not in popup_d
    assert "Not assessable: no value for" in popup_e and "Excluded" not in popup_e
    assert "it would also fail: area_ha 0.5 &lt; min 1" in popup_e
    assert "Excluded site</b>: area_ha 0.4 &lt; min 1" in popup_g
    assert "Not assessable" not in popup_g
    # the score map has a legend entry of its own for the not-assessable sites
    fig, _ = maps.plot_overview(ranked, {}, top_k=2)
    labels = [t.get_text() for t in fig.findobj(Text)]
    assert "Excluded site" in labels and "Not assessable (no data)" in labels
    assert "7 candidate sites, 1 excluded, 3 not assessable" in " ".join(labels)
    # an indicator map: no value is "no data", never "excluded"
    fig2, _ = maps.plot_indicator(ranked, "jobseekers_n", {}, top_k=0)
    labels = [t.get_text() for t in fig2.findobj(Text)]
    assert "No data" in labels and "Not assessable (no data)" not in labels
    plt.close(fig)
    plt.close(fig2)


def test_backtest_hub_on_a_not_assessable_site(sites):
    ranked = sites.join(score_sites(sites, SPEC).table)
    hubs = gpd.GeoDataFrame({"name": ["h1", "h2"]},
                            geometry=gpd.points_from_xy([350, 150], [50, 50]), crs=31370)
    bt = backtest_hubs(ranked, hubs)
    row = bt.set_index("name").loc["h1"]
    assert row["status"] == "not assessable" and row["missing_inputs"] == "jobseekers_n"
    assert row["excluded_reason"] == "" and np.isnan(row["percentile_pct"])
    assert bt["status"].tolist() == ["eligible", "not assessable"]
