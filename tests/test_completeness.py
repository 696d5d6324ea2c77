"""Building-footprint completeness against a reference stock, and the demand fallback."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from productivecity import SchemaError
from productivecity.indicators.completeness import building_completeness, completeness_notes
from productivecity.indicators.labour import unit_demand_surface
from productivecity.outputs.report import completeness_section

CRS = "EPSG:32635"  # metres


def _units() -> gpd.GeoDataFrame:
    """Three 1 km squares: 'A' (few buildings mapped), 'B' (all mapped), 'C' (no reference)."""
    boxes = [shapely.box(i * 1000, 0, (i + 1) * 1000, 1000) for i in range(3)]
    return gpd.GeoDataFrame({"name": ["Alpha", "Beta", "Gamma"]}, index=["A", "B", "C"],
                            geometry=boxes, crs=CRS)


def _buildings() -> gpd.GeoDataFrame:
    """'A': 2 houses of 20 x 20 m in its west corner; 'B': 10 houses; 'C': 4 houses."""
    geoms = ([shapely.box(10 + 30 * i, 10, 30 + 30 * i, 30) for i in range(2)]
             + [shapely.box(1010 + 30 * i, 10, 1030 + 30 * i, 30) for i in range(10)]
             + [shapely.box(2010 + 30 * i, 10, 2030 + 30 * i, 30) for i in range(4)])
    return gpd.GeoDataFrame({"residential": [True] * len(geoms)}, geometry=geoms, crs=CRS)


REFERENCE = pd.Series({"A": 20.0, "B": 10.0, "Z": 7.0}, name="buildings_n")  # Z: elsewhere


def test_completeness_per_unit_and_unchecked_units_are_listed():
    table = building_completeness(_units(), _buildings(), REFERENCE, min_completeness=0.5)
    assert table["mapped_n"].tolist() == [2.0, 10.0, 4.0]
    assert table.loc["A", "completeness"] == pytest.approx(0.1)
    assert table.loc["B", "completeness"] == pytest.approx(1.0)
    assert table["status"].tolist() == ["incomplete", "complete", "unchecked"]
    assert np.isnan(table.loc["C", "completeness"])  # not passed: no reference, no verdict
    assert table.loc["B", "footprint_share_pct"] == pytest.approx(100 * 10 * 400 / 1e6)
    assert table.attrs["outside_n"] == 1  # 'Z' of the reference is not a unit of the area
    notes = completeness_notes(table)
    assert any("incomplete" in n and "Alpha 10%" in n for n in notes)
    assert any("unchecked" in n and "Gamma" in n for n in notes)
    # without any reference, every unit is unchecked
    assert set(building_completeness(_units(), _buildings(), None)["status"]) == {"unchecked"}
    # no buildings at all: nothing mapped, incomplete where a reference exists
    bare = building_completeness(_units(), None, REFERENCE)
    assert bare["mapped_n"].sum() == 0 and bare.loc["A", "status"] == "incomplete"


def test_incomplete_unit_falls_back_to_population_then_area():
    units = _units()
    table = building_completeness(units, _buildings(), REFERENCE)
    skip = table.index[table["status"] == "incomplete"].tolist()
    assert skip == ["A"]
    totals = pd.DataFrame({"jobseekers_n": [100.0, 50.0, 40.0]}, index=units.index)
    # without footprints weighting 'A', its 100 job seekers are spread by area
    cells, _ = unit_demand_surface(units, totals, buildings=_buildings(), cell_m=250.0,
                                   skip_buildings=skip)
    assert cells.attrs["weights"] == {"A": "area", "B": "buildings", "C": "buildings"}
    a = cells.loc[cells["unit"] == "A", "jobseekers_n"]
    assert len(a) == 16 and np.allclose(a, 100 / 16)
    assert cells.groupby("unit")["jobseekers_n"].sum().to_dict() == pytest.approx(
        {"A": 100.0, "B": 50.0, "C": 40.0})
    # footprints used as before without the check: all of 'A' in its one corner cell
    before, _ = unit_demand_surface(units, totals, buildings=_buildings(), cell_m=250.0)
    assert before.loc[before["unit"] == "A", "jobseekers_n"].max() == pytest.approx(100.0)
    # with a finer population layer: the neighbourhoods' populations first
    hoods = gpd.GeoDataFrame({"population_n": [300.0, 100.0]}, crs=CRS, geometry=[
        shapely.box(0, 0, 500, 1000), shapely.box(500, 0, 1000, 1000)])
    cells, _ = unit_demand_surface(units, totals, buildings=_buildings(), cell_m=250.0,
                                   population=hoods, skip_buildings=skip)
    assert cells.attrs["weights"]["A"] == "population"
    a = cells.loc[cells["unit"] == "A"]
    west = a.geometry.x < 500
    assert a.loc[west, "jobseekers_n"].sum() == pytest.approx(75.0)
    assert a.loc[~west, "jobseekers_n"].sum() == pytest.approx(25.0)


def test_incomplete_unit_falls_back_to_residential_land_before_area():
    units = _units()
    skip = ["A", "B"]  # 'A' has residential land in its west half, 'B' has none
    totals = pd.DataFrame({"jobseekers_n": [100.0, 50.0, 40.0]}, index=units.index)
    # two overlapping residential polygons in the west half of 'A' (overlap counted once);
    # given in another CRS (degrees): moved to the units' CRS
    land = gpd.GeoDataFrame({"kind": ["residential", "residential"]}, crs=CRS, geometry=[
        shapely.box(0, 0, 500, 600), shapely.box(0, 400, 500, 1000)]).to_crs("EPSG:4326")
    cells, notes = unit_demand_surface(units, totals, buildings=_buildings(), cell_m=250.0,
                                       skip_buildings=skip, residential_land=land)
    assert cells.attrs["weights"] == {"A": "residential land", "B": "area", "C": "buildings"}
    assert "dasymetric: 1 unit(s) by residential land" in notes
    a = cells.loc[cells["unit"] == "A"]
    west = (a.geometry.x < 500).to_numpy()
    assert a.loc[west, "jobseekers_n"].sum() == pytest.approx(100.0)
    assert np.allclose(a.loc[west, "jobseekers_n"], 100 / 8, rtol=1e-6)  # dissolved: even
    assert a.loc[~west, "jobseekers_n"].max() < 1e-6  # 0 but for the reprojection's slivers
    b = cells.loc[cells["unit"] == "B", "jobseekers_n"]
    assert len(b) == 16 and np.allclose(b, 50 / 16)  # no residential land: by area
    # totals conserved per unit
    assert cells.groupby("unit")["jobseekers_n"].sum().to_dict() == pytest.approx(
        {"A": 100.0, "B": 50.0, "C": 40.0})


def test_report_table_lists_every_unit_with_its_status():
    table = building_completeness(_units(), _buildings(), REFERENCE)
    rows = table.reset_index(names="unit").to_dict("records")
    for r in rows:
        r["weights"] = {"A": "area"}.get(r["unit"], "buildings")
    html = "\n".join(completeness_section(rows, "en"))
    assert "Building data completeness per municipality" in html
    assert "<td>Alpha</td><td>2</td><td>20</td><td>10</td>" in html
    assert "incomplete: fallback</td><td>area" in html
    assert "<td>Gamma</td><td>4</td><td>–</td><td>–</td>" in html and "unchecked" in html
    assert completeness_section(None) == []


def _stock_file(folder, name, code, values, stat="T1"):
    facts = [{"CD_REFNIS": code, "CD_REFNIS_LVL": "5", "CD_STAT_TYPE": stat,
              "CD_BUILDING_TYPE": f"R{i + 1}", "MS_VALUE": str(v)} for i, v in enumerate(values)]
    facts.append({"CD_REFNIS": code, "CD_REFNIS_LVL": "5", "CD_STAT_TYPE": "T8",
                  "CD_BUILDING_TYPE": "R1", "MS_VALUE": "999"})  # dwellings: not buildings
    (folder / f"{name}.json").write_text(json.dumps({"gemeente": name, "facts": facts}),
                                         encoding="utf-8")


def test_belgian_building_stock_reader(tmp_path):
    from productivecity.sources.regions.belgium import read_building_stock

    _stock_file(tmp_path, "VORST", "21007", [100, 20, 3])
    _stock_file(tmp_path, "ELSENE", "21009", [50])
    stock = read_building_stock(tmp_path)
    assert stock.to_dict() == {"21007": 123.0, "21009": 50.0}
    (tmp_path / "BAD.json").write_text(json.dumps({"facts": [{"CD_STAT_TYPE": "T1",
                                                              "MS_VALUE": "x",
                                                              "CD_REFNIS": "1"}]}))
    with pytest.raises(SchemaError, match=r"BAD.json: fact 0 lacks"):
        read_building_stock(tmp_path)


@pytest.mark.integration
def test_testbed_building_stock(testbed):
    from productivecity.sources import regions
    from productivecity.sources.catalog import DataDir

    dd = DataDir(testbed)
    (kind, reader), *_ = regions.building_stock_readers()
    stock = reader(dd.require(kind))
    assert len(stock) == 22  # 19 Brussels municipalities, Vilvoorde, Machelen, Grimbergen
    assert stock["21015"] == 19_255  # Schaarbeek: 11,985 + 323 + 41 + 4,091 + 1,748 + 1,067


def test_demand_table_checked_against_the_unit_list():
    """Units without a row have no data (named); rows for no unit are named, not dropped."""
    from productivecity.indicators.labour import demand_surface
    from productivecity.layers import LayerSet

    units = _units().assign(population_n=[1000, 2000, 500])
    layers = LayerSet(layers={"units_municipalities": units}, reports=[])
    table = pd.DataFrame({"jobseekers_n": [100.0, 50.0, 9.0], "jobseekers_low_edu_n":
                          [40.0, 20.0, 3.0]}, index=["A", "B", "Z"])  # no C; Z is elsewhere
    cells, notes = demand_surface(layers, table, cell_m=250.0, source="js.csv")
    assert any("no job-seeker data for ['Gamma']" in n for n in notes)
    assert any("1 row(s) of js.csv are for units not in the study area" in n and "'Z'" in n
               for n in notes)
    # the units with rows keep their totals; the unit without is no data, not zero people
    by_unit = cells.groupby("unit")["jobseekers_n"].sum()
    assert by_unit["A"] == pytest.approx(100.0) and by_unit["B"] == pytest.approx(50.0)
    assert cells.loc[cells["unit"] == "C", "no_data"].all()
