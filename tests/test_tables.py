"""Tables for people: rounded CSV, the ';'/decimal-comma style, the XLSX workbook."""

from __future__ import annotations

import hashlib

import numpy as np
import openpyxl
import pandas as pd
import pytest
from _outputs_data import SPEC, scored_sites

from productivecity._errors import ConfigError, ParameterError
from productivecity.indicators.options import indicator_definitions
from productivecity.outputs import export
from productivecity.siting.criteria import criteria_table
from productivecity.siting.places import group_places, write_places_csv
from productivecity.sources.load_report import Credit
from productivecity.workflow.config import SCHEMA, config_from_dict


@pytest.fixture
def frame():
    """A small table with one column per rounding rule (index = site id)."""
    return pd.DataFrame({
        "rank": [1.0, 2.0, np.nan],
        "score": [0.759713, 0.690804, np.nan],
        "contrib_rail": [0.017407, -0.00001, np.nan],
        "jobseekers_walk_20min_n": [3699.985516, 7078.999999999996, 12.5],
        "rail_time_min": [15.299501, 0.04, 3.25],
        "brownfield_share_pct": [38.374354, 100.0, 0.0],
        "area_ha": [5.412659, 0.004, 12.0],
        "canal_distance_m": [123.6, 0.4, 1500.0],
        "hub_access_per_1000_jobseekers": [0.423789, 1.0, 0.0],
        "cell_m": [250, 250, 250],
        "centroid_x_m": [147625.0, 170390.51, 1.0],
        "centroid_lon": [4.3350308, 4.0, 4.1234567],
        "place_name": ["Rue de l'Épée 2, Molenbeek", "Quai; 3", None],
        "excluded": [False, False, True],
    }, index=pd.Index(["a", "b", "c"], name="site_id"))


def test_people_decimals_by_unit_suffix(frame):
    assert export.people_decimals(frame) == {
        "rank": 0, "score": 4, "contrib_rail": 4, "jobseekers_walk_20min_n": 0,
        "rail_time_min": 1, "brownfield_share_pct": 1, "area_ha": 2, "canal_distance_m": 0,
        "hub_access_per_1000_jobseekers": 2, "cell_m": 0, "centroid_x_m": 2,
        "centroid_lon": 7}
    out = export.round_for_people(frame)
    assert out["jobseekers_walk_20min_n"].tolist() == [3700, 7079, 12]  # persons: whole
    assert str(out["jobseekers_walk_20min_n"].dtype) == "Int64"
    assert out["rank"].tolist()[:2] == [1, 2] and pd.isna(out["rank"].iloc[2])
    assert out["rail_time_min"].tolist() == [15.3, 0.0, 3.2]
    assert out["area_ha"].tolist() == [5.41, 0.0, 12.0]
    assert out["score"].iloc[0] == 0.7597 and out["contrib_rail"].tolist()[:2] == [0.0174, 0.0]
    assert str(out["contrib_rail"].iloc[1]) == "0.0"  # no "-0.0"
    assert out["canal_distance_m"].tolist() == [124, 0, 1500]
    # coordinates as they are; text and booleans untouched
    assert out["centroid_x_m"].tolist() == frame["centroid_x_m"].tolist()
    assert out["centroid_lon"].tolist() == frame["centroid_lon"].tolist()
    assert out["place_name"].equals(frame["place_name"]) and out["excluded"].equals(
        frame["excluded"])


@pytest.mark.parametrize("style, sep, decimal, bom", [("comma", ",", ".", False),
                                                      ("semicolon", ";", ",", True)])
def test_csv_styles_round_trip_to_the_rounded_values(frame, tmp_path, style, sep, decimal,
                                                     bom):
    path = export.write_table_csv(frame, tmp_path / f"{style}.csv", style=style)
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") == bom and b"\r" not in raw
    header, first = raw.decode("utf-8-sig").splitlines()[:2]
    assert header.startswith(sep.join(["site_id", "rank", "score", "contrib_rail"]))
    assert first.startswith(sep.join(["a", "1", f"0{decimal}7597", f"0{decimal}0174",
                                      "3700", f"15{decimal}3"]))
    back = pd.read_csv(path, sep=sep, decimal=decimal, encoding="utf-8-sig",
                       index_col="site_id")
    expected = export.round_for_people(frame)
    assert back.columns.tolist() == expected.columns.tolist()
    for col in expected.columns:
        got, want = back[col], expected[col]
        if col in export.people_decimals(frame):
            np.testing.assert_array_equal(got.to_numpy(float), want.to_numpy(float), err_msg=col)
        else:
            assert got.fillna("").astype(str).tolist() == \
                want.fillna("").astype(str).tolist(), col
    assert back.loc["a", "place_name"] == "Rue de l'Épée 2, Molenbeek"


def test_csv_style_auto_follows_the_language():
    assert export.csv_style("auto", "nl") == export.csv_style("auto", "fr") == \
        export.csv_style("semicolon", "en")
    semi = export.csv_style("auto", "fr")
    assert (semi.sep, semi.decimal, semi.encoding) == (";", ",", "utf-8-sig")
    comma = export.csv_style("auto", "en")
    assert (comma.sep, comma.decimal, comma.encoding) == (",", ".", "utf-8")
    assert export.csv_style("comma", "nl") == comma  # a scenario can force one
    with pytest.raises(ParameterError, match=r"'tab'.*\['auto', 'comma', 'semicolon'\]"):
        export.csv_style("tab", "en")


def test_unknown_csv_style_in_a_scenario_is_refused():
    assert SCHEMA["outputs"]["csv_style"].choices == export.CSV_STYLES
    data = {"outputs": {"csv_style": "excel"}}
    with pytest.raises(ConfigError, match=r"\[outputs\] csv_style must be a string "
                                          r"\(auto \| comma \| semicolon\), got 'excel'"):
        config_from_dict(data, source="x.toml", require_criteria=False)


@pytest.fixture(scope="module")
def scored():
    sites, result, mc = scored_sites()
    _, places = group_places(sites, radius_m=500)
    places["place_name"] = [f"Quai {i}, Cureghem-Kuregem" for i in range(len(places))]
    return sites, result, mc, places


def test_places_csv_in_the_semicolon_style(scored, tmp_path):
    *_, places = scored
    path = write_places_csv(places, tmp_path / "places.csv", style="auto", lang="fr")
    back = pd.read_csv(path, sep=";", decimal=",", encoding="utf-8-sig", index_col="place_id")
    assert back.index.tolist() == places.index.tolist()
    np.testing.assert_array_equal(back["score"], places["score"].round(4))
    assert (back["area_ha"] == places["area_ha"].round(2)).all()


def test_workbook_sheets_headers_weights(scored, tmp_path):
    sites, result, mc, places = scored
    crit = criteria_table(SPEC, result)
    kw = dict(places=places, stability=mc, criteria=crit,
              definitions=indicator_definitions(), lang="fr", date="2026-03-01",
              sources=["osm", Credit("x", "© Office X")], title="Canal")
    path = export.write_workbook(sites, tmp_path / "t.xlsx", **kw)
    again = export.write_workbook(sites, tmp_path / "t2.xlsx", **kw)
    assert hashlib.sha256(path.read_bytes()).digest() == \
        hashlib.sha256(again.read_bytes()).digest()  # deterministic
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == list(export.WORKBOOK_SHEETS)
    for name in ("places", "sites", "indicators", "criteria"):
        ws = wb[name]
        assert ws.freeze_panes in ("A2", "B2"), name  # the header row stays in view
        assert ws.cell(1, 1).font.bold and ws.max_row > 1, name
        assert all(ws.column_dimensions[c.column_letter].width >= 8 for c in ws[1]), name

    def table(name):
        rows = list(wb[name].iter_rows(values_only=True))
        return pd.DataFrame(rows[1:], columns=rows[0])

    # sites: ranked, rounded, with names and status
    s = table("sites")
    ranked = export.ranked_sites(sites, stability=mc)
    assert s["site_id"].tolist() == ranked.index.tolist()
    assert s.columns[:3].tolist() == ["site_id", "rank", "score"] and "status" in s.columns
    assert s["score"].dropna().tolist() == ranked["score"].dropna().round(4).tolist()
    assert wb["sites"].cell(2, 3).number_format == "#,##0.0000"
    np.testing.assert_array_equal(s["industrial_share_pct"].to_numpy(float),
                                  ranked["industrial_share_pct"].round(1).to_numpy(float))
    # places best first, with their score and stability
    p = table("places")
    assert p["place_id"].tolist() == places.sort_values("rank").index.tolist()
    assert p.columns[:4].tolist() == ["place_id", "rank", "place_name", "score"]
    assert p["area_ha"].tolist() == places.sort_values("rank")["area_ha"].round(2).tolist()
    # indicators: definitions and units of the sites' indicator columns
    ind = table("indicators").set_index("indicator")
    assert ind.loc["industrial_share_pct", "unit"] == "%"
    assert ind.loc["industrial_share_pct", "definition"] == \
        indicator_definitions()["industrial_share_pct"]
    assert ind.loc["area_ha", "decimals"] == 2
    # criteria: weights exact, they sum to 1
    c = table("criteria")
    assert c["criterion"].tolist() == [k.name for k in SPEC.criteria]
    assert {"column", "direction", "weight", "precision", "discriminating"} <= set(c.columns)
    assert c["weight"].sum() == pytest.approx(1.0, abs=1e-12)
    about = [r for r in wb["about"].iter_rows(values_only=True)]
    assert about[0][0] == "Canal" and ("Date", "2026-03-01") in about
    assert any(v and "© Office X" in v for _, v in about)
    assert any(v and "results.gpkg" in v for _, v in about)  # full precision: where
