"""The live weights page in a real headless Chromium: sliders, exclusions, profiles, save.

The page is driven through its own controls (a small script appended to a copy of
the page sets the sliders and dispatches their ``input`` events, clicks the
exclusion check boxes and the Save button), then its ranking is read back from the
DOM (``--dump-dom``) and compared with :func:`productivecity.siting.ranking.rank_sites`
and :func:`productivecity.siting.places.group_places` in Python.
"""

from __future__ import annotations

import dataclasses
import html
import json
import re
import subprocess
import urllib.parse
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
from _outputs_data import SPEC, sample_layers, scored_sites

from productivecity._errors import CriteriaWarning, SchemaError
from productivecity.cli import main
from productivecity.outputs.weights_page import weights_page_data, write_weights_page
from productivecity.siting.criteria import Constraint, CriteriaSpec, Criterion, load_criteria
from productivecity.siting.places import group_places
from productivecity.siting.ranking import rank_sites

RADIUS_M = 500.0
TOP_K = 5

#: Column names the indicators produce (so that 'productivecity rank' accepts the
#: criteria), given the values of the sample grid's geometric indicators.
COLUMNS = {"canal_distance_m": "canal_quay_walk_time_min",
           "rail_station_dist_m": "rail_station_walk_time_min",
           "stops_500m_n": "stops_walk_10min_n", "hub_dist_m": "nearest_hub_walk_time_min"}
#: The first hub profile: the output tests' criteria on those columns.
SPEC_WLC = dataclasses.replace(SPEC, criteria=tuple(
    dataclasses.replace(c, column=COLUMNS.get(c.column, c.column)) for c in SPEC.criteria),
    name="wlc-test")

#: A second hub profile: OWA over nine criteria (numpy sums more than eight terms
#: pairwise), fuzzy (two and four breakpoints), z-score and rank standardisation, a
#: column without a unit suffix (relative precision) and a true/false exclusion.
SPEC_OWA = CriteriaSpec(
    criteria=(
        Criterion("canal", "canal_distance_m", direction="cost", weight=0.2),
        Criterion("industrial", "industrial_share_pct", standardisation="fuzzy",
                  breakpoints=(10.0, 60.0), weight=0.2),
        Criterion("rail", "rail_station_dist_m", direction="cost", standardisation="zscore",
                  weight=0.15),
        Criterion("stops", "stops_500m_n", standardisation="rank", weight=0.1),
        Criterion("hub_gap", "hub_gap_index", weight=0.1),
        Criterion("canal_band", "canal_distance_m", standardisation="fuzzy",
                  breakpoints=(100.0, 300.0, 800.0, 1500.0), weight=0.1),
        Criterion("rail_rank", "rail_station_dist_m", direction="cost",
                  standardisation="rank", weight=0.05),
        Criterion("hub_z", "hub_dist_m", standardisation="zscore", weight=0.05),
        Criterion("industrial_min", "industrial_share_pct", weight=0.05),
    ),
    constraints=(Constraint("area_ha", min=2.0, description="cut-off cell"),
                 Constraint("no_stop", exclude_if_true=True, description="no stop near")),
    method="owa", owa_order_weights=(0.3, 0.2, 0.15, 0.1, 0.1, 0.05, 0.05, 0.03, 0.02),
    name="owa-test", profile="city-wide",
)
#: A third: the same nine criteria by WLC (numpy adds them in criterion order).
SPEC_WIDE = dataclasses.replace(SPEC_OWA, method="wlc", owa_order_weights=None,
                                name="wlc-wide", profile="neighbourhood")
PROFILES = (SPEC_WLC, SPEC_OWA, SPEC_WIDE)


@pytest.fixture(scope="module")
def sites() -> gpd.GeoDataFrame:
    """The sample grid's indicators (no scores: the page computes them)."""
    ranked, _, _ = scored_sites()
    out = ranked[[*SPEC.columns, "geometry"]].copy()
    for old, new in COLUMNS.items():
        out[new] = out[old]
    out["hub_gap_index"] = out["hub_dist_m"] / 1234.5
    out["no_stop"] = out["stops_500m_n"].eq(0)
    out["place_name"] = [f"Place {i}" for i in range(len(out))]
    return out


def _drive(exe: Path, page: Path, script: str, workdir: Path) -> dict:
    """Open a copy of ``page`` with ``script`` appended; return what it wrote to #pc-out."""
    driven = workdir / f"driven-{page.name}"
    text = page.read_text(encoding="utf-8")
    driven.write_text(text.replace("</html>", f"<script>{script}</script></html>"),
                      encoding="utf-8")
    cmd = [str(exe), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={workdir / 'profile'}", "--window-size=1200,900", "--dump-dom",
           driven.as_uri()]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=90, check=False,
                          cwd=workdir)
    found = re.search(r'<pre id="pc-out">(.*?)</pre>', proc.stdout, re.S)
    assert found, proc.stderr[-2000:]
    return json.loads(html.unescape(found.group(1)))


#: Sets the controls of each case, then records the page's ranking, list and saved file.
_DRIVER = r"""
(function () {
  var saved = null;
  HTMLAnchorElement.prototype.click = function () { saved = this.href; };
  var out = [];
  CASES.forEach(function (c) {
    var sel = document.getElementById("pc-profile");
    if (sel && sel.value !== String(c.profile)) {
      sel.value = String(c.profile); sel.dispatchEvent(new Event("change"));
    }
    var box = document.querySelector('.pc-profile[data-profile="' + c.profile + '"]');
    box.querySelectorAll(".pc-exclusion").forEach(function (cb) {
      var want = c.exclusions[cb.dataset.column];
      if (want !== undefined && cb.checked !== want) { cb.click(); }
    });
    box.querySelectorAll(".pc-slider").forEach(function (s) {
      var v = c.weights[s.dataset.criterion];
      if (v !== undefined) {
        s.value = String(v); s.dispatchEvent(new Event("input", {bubbles: true}));
      }
    });
    saved = null;
    document.getElementById("pc-save").click();
    var msg = document.getElementById("pc-message");
    var items = Array.from(document.querySelectorAll("#pc-places li")).map(function (li) {
      return [li.dataset.site, Number(li.dataset.score), li.querySelector(".pc-name").textContent,
              li.querySelectorAll(".pc-bar").length,
              li.querySelector(".pc-head span:last-child").textContent];
    });
    out.push({ranking: window.pcWeights.ranking(), items: items, saved: saved,
              weights: Array.from(box.querySelectorAll(".pc-slider")).map(function (s) {
                return [s.dataset.criterion, Number(s.value)]; }),
              message: msg.style.display === "none" ? "" : msg.textContent,
              saveDisabled: document.getElementById("pc-save").disabled});
  });
  var pre = document.createElement("pre"); pre.id = "pc-out";
  pre.textContent = JSON.stringify(out); document.body.appendChild(pre);
})();
"""

CASES = [
    {"profile": 0, "weights": {}, "exclusions": {}},  # the run's weights
    {"profile": 0, "weights": {"canal": 0.9, "industrial": 0.05, "rail": 0.0, "stops": 0.35,
                               "hub_gap": 0.2}, "exclusions": {}},
    {"profile": 0, "weights": {"canal": 0.0, "industrial": 0.0, "rail": 1.0, "stops": 0.0,
                               "hub_gap": 0.0}, "exclusions": {"area_ha": False}},
    {"profile": 0, "weights": {"canal": 0.13, "industrial": 0.77, "rail": 0.31, "stops": 0.02,
                               "hub_gap": 0.6}, "exclusions": {"area_ha": True}},
    {"profile": 1, "weights": {"canal": 0.25, "industrial": 0.5, "rail": 0.1, "stops": 0.7,
                               "hub_gap": 0.45}, "exclusions": {}},
    {"profile": 1, "weights": {"rail": 0.0, "canal_band": 0.4}, "exclusions": {"no_stop": False}},
    {"profile": 2, "weights": {}, "exclusions": {}},
    {"profile": 2, "weights": {"canal": 0.11, "industrial": 0.9, "rail": 0.33, "stops": 0.05,
                               "hub_gap": 0.61, "canal_band": 0.72, "rail_rank": 0.27,
                               "hub_z": 0.18, "industrial_min": 0.44},
     "exclusions": {"area_ha": False}},
    {"profile": 0, "weights": {"canal": 0.0, "industrial": 0.0, "rail": 0.0, "stops": 0.0,
                               "hub_gap": 0.0}, "exclusions": {}},  # refused
]


@pytest.fixture(scope="module")
def driven(sites, chromium, tmp_path_factory) -> tuple[list[dict], Path]:
    """The two-profile page driven through every case in one browser session."""
    workdir = tmp_path_factory.mktemp("weights")
    page = write_weights_page(sites, sample_layers(), workdir / "weights.html",
                              spec=list(PROFILES), top_k=TOP_K, radius_m=RADIUS_M)
    script = _DRIVER.replace("CASES", json.dumps(CASES))
    return _drive(chromium, page, script, workdir), workdir


def _python_ranking(sites, spec: CriteriaSpec, case: dict, page_weights: list):
    """rank_sites and group_places for the page's weights and exclusions."""
    cons = tuple(c for c in spec.constraints if case["exclusions"].get(c.column, True))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CriteriaWarning)  # weights not summing to 1
        spec = dataclasses.replace(spec, constraints=cons).with_weights(dict(page_weights))
        ranked, result, _, _ = rank_sites(sites, spec)
    _, places = group_places(ranked, radius_m=RADIUS_M)
    return ranked, places


def _order(ranked) -> list[str]:
    ok = ranked["status"].eq("eligible")
    ids = ranked.index[ok].astype(str).to_numpy()
    return ids[np.lexsort((ids, -ranked.loc[ok, "score"].to_numpy(float)))].tolist()


@pytest.mark.parametrize("i", range(len(CASES) - 1))
def test_page_scores_and_places_equal_python(sites, driven, i):
    out, _ = driven
    case, got = CASES[i], out[i]
    spec = PROFILES[case["profile"]]
    ranked, places = _python_ranking(sites, spec, case, got["weights"])
    assert got["message"] == "" and not got["saveDisabled"]
    page_sites = got["ranking"]["sites"]
    py = ranked.loc[ranked["status"].eq("eligible"), "score"]
    assert len(page_sites) == len(py)
    diff = max(abs(score - py[sid]) for sid, score in page_sites)
    assert diff < 1e-9
    assert [sid for sid, _ in page_sites] == _order(ranked)
    # the places: same best sites, same order, same sizes
    assert [p[0] for p in got["ranking"]["places"]] == places["best_site_id"].tolist()
    assert [p[2] for p in got["ranking"]["places"]] == places["cells_n"].tolist()
    # the list shown: the top places by name, with their score and why-bars
    top = places.head(TOP_K)
    assert [it[0] for it in got["items"]] == top["best_site_id"].tolist()
    assert [it[2] for it in got["items"]] == [
        f"{r + 1}. {sites.at[s, 'place_name']}" for r, s in enumerate(top["best_site_id"])]
    assert all(it[3] >= 1 for it in got["items"])
    assert np.allclose([it[1] for it in got["items"]], top["score"], rtol=0, atol=1e-9)


def test_cases_change_the_ranking(driven):
    """The weight sets are different enough to reorder the places (the test can fail)."""
    out, _ = driven
    firsts = {tuple(p[0] for p in o["ranking"]["places"][:3]) for o in out[:-1]}
    assert len(firsts) >= 4


def test_all_zero_weights_are_refused_in_the_page(driven):
    out, _ = driven
    got = out[-1]
    assert got["message"] == "All weights are 0: give at least one criterion a weight"
    assert got["saveDisabled"] and got["saved"] is None and got["ranking"] is None


@pytest.mark.parametrize("i", [1, 2, 5, 7])
def test_saved_criteria_file_reproduces_the_page(sites, driven, i, tmp_path):
    out, _ = driven
    got = out[i]
    prefix = "data:application/toml;charset=utf-8,"
    assert got["saved"].startswith(prefix)
    path = tmp_path / "saved.toml"
    path.write_text(urllib.parse.unquote(got["saved"][len(prefix):]), encoding="utf-8")
    spec = load_criteria(path)  # no warning: the weights sum to 1
    assert len(spec.constraints) == sum(CASES[i]["exclusions"].get(c.column, True)
                                        for c in PROFILES[CASES[i]["profile"]]
                                        .constraints)
    ranked, *_ = rank_sites(sites, spec)
    page = dict(got["ranking"]["sites"])
    py = ranked.loc[ranked["status"].eq("eligible"), "score"]
    assert set(page) == set(py.index) and max(abs(page[s] - py[s]) for s in py.index) < 1e-9
    assert _order(ranked) == [s for s, _ in got["ranking"]["sites"]]
    if i == 1:  # and 'productivecity rank' accepts it
        gpkg = tmp_path / "sites.gpkg"
        sites.to_file(gpkg, layer="sites")
        assert main(["rank", str(gpkg), "--criteria", str(path), "--out",
                     str(tmp_path / "ranked.gpkg"), "-q"]) == 0
        cli = gpd.read_file(tmp_path / "ranked.gpkg", layer="ranked_sites").set_index("site_id")
        ok = cli["score"].notna()
        assert np.allclose(cli.loc[ok, "score"].to_numpy(float),
                           [page[str(s)] for s in cli.index[ok]], rtol=0, atol=1e-9)


def test_page_in_dutch(sites, chromium, tmp_path):
    page = write_weights_page(sites, sample_layers(), tmp_path / "weights.html", spec=SPEC,
                              lang="nl", top_k=3)
    got = _drive(chromium, page, _DRIVER.replace("CASES", json.dumps(CASES[:1])), tmp_path)[0]
    text = page.read_text(encoding="utf-8")
    assert "Gewichten live" in text and "Gewichten bewaren" in text
    assert len(got["items"]) == 3
    assert all(re.fullmatch(r"\d,\d{3}", it[4]) for it in got["items"])  # decimal comma


def test_french_texts_and_offline(sites, tmp_path):
    page = write_weights_page(sites, sample_layers(), tmp_path / "w.html", spec=SPEC, lang="fr")
    text = page.read_text(encoding="utf-8")
    assert "Poids en direct" in text and "Enregistrer les poids" in text
    assert not re.search(r"<script[^>]+src\s*=", text)  # Leaflet inlined


def test_same_inputs_same_bytes(sites, tmp_path):
    a = write_weights_page(sites, sample_layers(), tmp_path / "a.html", spec=list(PROFILES))
    b = write_weights_page(sites.copy(), sample_layers(), tmp_path / "b.html",
                           spec=list(PROFILES))
    assert a.read_bytes() == b.read_bytes()


def test_bad_input_is_named(sites):
    with pytest.raises(SchemaError, match="hub_gap_index"):
        weights_page_data(sites.drop(columns="hub_gap_index"), SPEC_OWA)
    bad = sites.copy()
    bad["hub_dist_m"] = bad["hub_dist_m"].replace(bad["hub_dist_m"].iloc[0], np.inf)
    with pytest.raises(SchemaError, match="hub_dist_m.*infinite"):
        weights_page_data(bad, SPEC)  # the output tests' criteria, on hub_dist_m
    with pytest.raises(SchemaError, match="list of them"):
        weights_page_data(sites, [])
