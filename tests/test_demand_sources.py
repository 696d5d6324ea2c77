"""Demand data in any shape: generic unit tables (CSV, XLSX) and population rasters."""

from __future__ import annotations

import logging
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import pytest
import rasterio
import rasterio.mask
import shapely
from affine import Affine

from productivecity import ConfigError, SchemaError
from productivecity.indicators.labour import unit_demand_surface
from productivecity.layers import LayerSet
from productivecity.sources.demand import (
    demand_units,
    join_demand_table,
    raster_points,
    read_demand_table,
    read_raster_cells,
)
from productivecity.workflow.config import build_config
from productivecity.workflow.inputs import load_generic_demand_surface

UTM = "EPSG:32635"  # Kotka, Finland
X0, Y0 = 497_000.0, 6_705_000.0  # lower-left corner of the fixtures (UTM 35N, metres)


def _units() -> gpd.GeoDataFrame:
    """Three 1 km squares side by side, codes '285', '286', '091'."""
    boxes = [shapely.box(X0 + i * 1000, Y0, X0 + (i + 1) * 1000, Y0 + 1000) for i in range(3)]
    return gpd.GeoDataFrame({"kunta": ["285", "286", "091"]}, geometry=boxes, crs=UTM)


def _area(poly=None) -> gpd.GeoDataFrame:
    poly = poly if poly is not None else shapely.box(X0, Y0, X0 + 3000, Y0 + 1000)
    return gpd.GeoDataFrame({"name": ["test"]}, geometry=[poly], crs=UTM)


def _layers(area: gpd.GeoDataFrame) -> LayerSet:
    return LayerSet(layers={"study_area": area}, reports=[], data_dir=None)


LONG_CSV = (
    "kunta;koulutus;tyottomat\n"
    "285;low;10\n"
    "285;none;5\n"
    "285;high;20\n"
    "286;low;3\n"
    "286;high;7\n"
    "91;high;4\n"  # written without its leading zero
    "999;low;1\n"  # matches no unit
)


def test_long_csv_with_categories_joined_to_unit_file(tmp_path, caplog):
    csv = tmp_path / "tyottomat.csv"
    csv.write_text(LONG_CSV, encoding="utf-8")
    table, rep = read_demand_table(csv, code_column="kunta",
                                   columns={"jobseekers_n": "tyottomat"},
                                   category_column="koulutus",
                                   categories={"jobseekers_low_edu_n": ["low", "none"]})
    # each unit's rows add up; low-educated = the rows of the listed categories
    assert table.loc["285"].tolist() == [35.0, 15.0]
    assert table.loc["286"].tolist() == [10.0, 3.0]
    assert table.loc["91"].tolist() == [4.0, 0.0]
    assert any("no row of ['low', 'none']" in n for n in rep.notes)

    units_file = tmp_path / "kunnat.gpkg"
    _units().to_file(units_file)
    units, _name = demand_units(path=units_file, code_column="kunta", area=_area())
    assert list(units.index) == ["285", "286", "091"]
    with caplog.at_level(logging.WARNING, logger="productivecity.sources.demand"):
        totals, rep = join_demand_table(table, units, report=rep, what=csv.name)
    assert totals.loc["285", "jobseekers_n"] == 35.0
    assert totals.loc["091", "jobseekers_n"] == 4.0  # '91' matched to '091', and noted
    assert any("leading zeros" in n for n in rep.notes)
    # the code that matches no unit is listed: counted, noted and warned about
    assert rep.skipped["code matches no unit"] == 1
    assert any("['999']" in n for n in rep.notes)
    assert "['999']" in caplog.text


def test_xlsx_sheet_missing_unit_is_nan_not_zero(tmp_path):
    path = tmp_path / "demand.xlsx"
    df = pd.DataFrame({"code": ["285", "286", "777"], "pop": [1200, 800, 50],
                       "js": [60, None, 2], "edu_none": [10, 4, 0], "edu_basic": [15, 6, 1]})
    with pd.ExcelWriter(path) as xl:
        pd.DataFrame({"x": [1]}).to_excel(xl, sheet_name="notes", index=False)
        df.to_excel(xl, sheet_name="data", index=False)
    table, rep = read_demand_table(
        path, code_column="code", sheet="data",
        columns={"population_n": "pop", "jobseekers_n": "js",
                 "jobseekers_low_edu_n": ["edu_none", "edu_basic"]})
    assert table.loc["285", "jobseekers_low_edu_n"] == 25.0  # listed columns add up
    assert np.isnan(table.loc["286", "jobseekers_n"])  # an empty cell: unknown
    totals, rep = join_demand_table(table, _units().set_index("kunta"), report=rep)
    assert np.isnan(totals.loc["091"]).all()  # no row: missing, never zero
    assert totals.loc["285", "population_n"] == 1200.0
    assert rep.skipped == {"code matches no unit": 1}
    assert any("have no row" in n and "091" in n for n in rep.notes)
    with pytest.raises(Exception, match="no sheet 'Taul1'"):
        read_demand_table(path, code_column="code", sheet="Taul1",
                          columns={"jobseekers_n": "js"})


def test_table_errors_name_the_problem(tmp_path):
    csv = tmp_path / "t.csv"
    csv.write_text("code,js\n285,12\n285,3\n286,..\n", encoding="utf-8")
    with pytest.raises(SchemaError, match=r"'js'.*not numbers.*'\.\.'"):
        read_demand_table(csv, code_column="code", columns={"jobseekers_n": "js"})
    csv.write_text("code,js\n285,12\n285,3\n286,..\n", encoding="utf-8")
    with pytest.raises(SchemaError, match=r"more than once.*\['285'\]"):
        read_demand_table(csv, code_column="code", columns={"jobseekers_n": "js"},
                          na_values=[".."])
    with pytest.raises(SchemaError, match=r"lacks the column\(s\) \['persons'\]"):
        read_demand_table(csv, code_column="code", columns={"jobseekers_n": "persons"})


# --------------------------------------------------------------------------------------------
# rasters
# --------------------------------------------------------------------------------------------

NODATA = -1.0


def _raster(tmp_path, *, crs=UTM, cell=100.0, x0=X0, y_top=Y0 + 1000, n=10, nodata=()):
    """n x n grid with value r*10 + c + 1 at (row r, col c); cells in ``nodata`` are nodata."""
    v = (np.arange(n)[:, None] * 10 + np.arange(n)[None, :] + 1).astype("float32")
    for r, c in nodata:
        v[r, c] = NODATA
    path = tmp_path / f"pop_{str(crs).replace(':', '')}.tif"
    with rasterio.open(path, "w", driver="GTiff", width=n, height=n, count=1, dtype="float32",
                       crs=crs, transform=Affine(cell, 0.0, x0, 0.0, -cell, y_top),
                       nodata=NODATA) as dst:
        dst.write(v, 1)
    return path, v


def _reference_total(path, poly_raster_crs) -> float:
    """Share-weighted total computed independently, cell by cell, in the raster's CRS."""
    with rasterio.open(path) as src:
        v = src.read(1, masked=True)
        t = src.transform
        total = 0.0
        for r in range(src.height):
            for c in range(src.width):
                if np.ma.is_masked(v[r, c]):
                    continue
                x0, y1 = t.c + t.a * c, t.f + t.e * r
                x1, y0 = t.c + t.a * (c + 1), t.f + t.e * (r + 1)
                cell = shapely.box(x0, y0, x1, y1)
                total += float(v[r, c]) * cell.intersection(poly_raster_crs).area / cell.area
    return total


def test_raster_total_by_hand_with_cut_cell_and_nodata(tmp_path):
    path, v = _raster(tmp_path, nodata=[(9, 3)])
    # the bottom row (row 9: values 91..100) from x = 50 m to x = 400 m: half of cell 0,
    # cells 1 and 2 whole, cell 3 nodata (unknown, not zero)
    area = _area(shapely.box(X0 + 50, Y0, X0 + 400, Y0 + 100))
    pts, rep = raster_points(path, area)
    assert pts["population_n"].sum() == pytest.approx(0.5 * 91 + 92 + 93, abs=1e-9)
    assert sorted(pts.index) == ["9_0", "9_1", "9_2"]
    assert pts.loc["9_0", "share_inside"] == pytest.approx(0.5)
    # a whole cell is its centre; the cut cell's point lies in the part inside
    assert pts.loc["9_1"].geometry.equals_exact(shapely.Point(X0 + 150, Y0 + 50), 1e-6)
    assert area.geometry.iloc[0].contains(pts.loc["9_0"].geometry)
    assert any("1 nodata cell" in n for n in rep.notes)


def test_raster_matches_rasterio_mask_on_aligned_polygon(tmp_path):
    path, _ = _raster(tmp_path, nodata=[(3, 3)])
    poly = shapely.box(X0 + 100, Y0 + 300, X0 + 600, Y0 + 800)
    pts, _ = raster_points(path, _area(poly))
    with rasterio.open(path) as src, warnings.catch_warnings():
        # rasterio 1.4 itself multiplies transforms with affine's deprecated operator
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        masked, _t = rasterio.mask.mask(src, [poly], crop=True, filled=False)
    assert pts["population_n"].sum() == pytest.approx(float(masked.sum()), abs=1e-6)


def test_raster_conserves_share_weighted_total_on_any_polygon(tmp_path):
    path, _ = _raster(tmp_path, nodata=[(4, 5), (0, 0)])
    circle = shapely.Point(X0 + 430, Y0 + 470).buffer(333.0, quad_segs=32)
    cells, _ = read_raster_cells(path, _area(circle))
    ref = _reference_total(path, circle)
    assert cells["population_n"].sum() == pytest.approx(ref, rel=1e-9)
    assert cells.geometry.union_all().area == pytest.approx(
        circle.difference(shapely.box(X0 + 500, Y0 + 500, X0 + 600, Y0 + 600)).area, rel=1e-9)


def test_raster_in_another_crs_is_reprojected(tmp_path):
    path, _ = _raster(tmp_path)  # UTM 35N
    circle = shapely.Point(X0 + 512, Y0 + 488).buffer(300.0, quad_segs=64)
    ref = _reference_total(path, circle)
    # the study area in the Finnish national grid (ETRS-TM35FIN)
    area_fin = _area(circle).to_crs("EPSG:3067")
    pts, rep = raster_points(path, area_fin)
    assert pts.crs.equals(pyproj.CRS("EPSG:3067"))
    assert pts["population_n"].sum() == pytest.approx(ref, rel=1e-4)
    assert any("reprojected from EPSG:32635" in n for n in rep.notes)
    # whole cells sit at their centres, carried by pyproj into the area's CRS
    whole = pts.loc[pts["share_inside"] >= 1 - 1e-12]
    back = whole.to_crs(UTM)
    for cid, p in zip(whole.index, back.geometry, strict=True):
        r, c = map(int, cid.split("_"))
        assert p.distance(shapely.Point(X0 + 100 * c + 50, Y0 + 1000 - 100 * r - 50)) < 0.01


def test_lonlat_raster_wholly_inside_keeps_its_total(tmp_path):
    # a 0.001 degree grid near Kotka, inside a study area in UTM 35N
    path, v = _raster(tmp_path, crs="EPSG:4326", cell=0.001, x0=26.95, y_top=60.48)
    tr = pyproj.Transformer.from_crs("EPSG:4326", UTM, always_xy=True)
    x, y = tr.transform([26.94, 26.97], [60.46, 60.49])
    pts, _ = raster_points(path, _area(shapely.box(x[0], y[0], x[1], y[1])))
    assert len(pts) == 100
    assert pts["population_n"].sum() == pytest.approx(float(v.sum()), rel=1e-12)


def test_raster_outside_area_is_an_error(tmp_path):
    path, _ = _raster(tmp_path)
    far = _area(shapely.box(X0 + 50_000, Y0, X0 + 51_000, Y0 + 1000))
    with pytest.raises(Exception, match="does not cover the study area"):
        raster_points(path, far)


# --------------------------------------------------------------------------------------------
# the demand surface
# --------------------------------------------------------------------------------------------


def test_surface_from_table_conserves_unit_totals_and_leaves_missing_units_out():
    units = _units().set_index("kunta")
    totals = pd.DataFrame({"jobseekers_n": [35.0, 10.0, np.nan],
                           "jobseekers_low_edu_n": [15.0, 3.0, np.nan]}, index=units.index)
    cells, notes = unit_demand_surface(units, totals, cell_m=250.0)
    assert "population_n" not in cells.columns  # no residents given: absent, not zero
    by_unit = cells.groupby("unit")["jobseekers_n"].sum()
    assert by_unit["285"] == pytest.approx(35.0) and by_unit["286"] == pytest.approx(10.0)
    assert "091" not in set(cells["unit"])  # no data: not distributed
    assert not cells["no_data"].any()


def test_surface_from_table_weighted_by_raster(tmp_path):
    path, v = _raster(tmp_path)  # covers unit '285' only
    units = _units().set_index("kunta")
    raster, _ = read_raster_cells(path, units)
    totals = pd.DataFrame({"jobseekers_n": [50.0, 20.0, 5.0]}, index=units.index)
    cells, notes = unit_demand_surface(units, totals, raster=raster, cell_m=100.0)
    # residents come from the raster (its total within unit '285'), job seekers from the table
    pop = cells.groupby("unit")["population_n"].sum()
    assert pop["285"] == pytest.approx(float(v.sum()))
    assert cells.groupby("unit")["jobseekers_n"].sum()["285"] == pytest.approx(50.0)
    assert any("less than 99%" in n and "286" in n for n in notes)
    # job seekers follow the raster inside the unit: the densest row gets the most
    js = cells.loc[cells["unit"] == "285"]
    top = js.geometry.y > Y0 + 900
    bottom = js.geometry.y < Y0 + 100
    assert js.loc[bottom, "jobseekers_n"].sum() > js.loc[top, "jobseekers_n"].sum() * 5


def test_config_to_surface_raster_alone_and_table(tmp_path):
    path, v = _raster(tmp_path)
    area = _area(shapely.box(X0, Y0, X0 + 1000, Y0 + 1000))
    cfg = build_config(overrides=[("demand", "raster", str(path))])
    cells, notes = load_generic_demand_surface(_layers(area), cfg["demand"], cell_m=100.0)
    assert cells["population_n"].sum() == pytest.approx(float(v.sum()))
    assert "jobseekers_n" not in cells.columns

    csv = tmp_path / "tyottomat.csv"
    csv.write_text(LONG_CSV, encoding="utf-8")
    units_file = tmp_path / "kunnat.gpkg"
    _units().to_file(units_file)
    cfg = build_config(overrides=[
        ("demand", "table", str(csv)), ("demand", "code_column", "kunta"),
        ("demand", "columns", {"jobseekers_n": "tyottomat"}),
        ("demand", "category_column", "koulutus"),
        ("demand", "low_edu_categories", ["low", "none"]),
        ("demand", "units_file", str(units_file)), ("demand", "units_code_column", "kunta"),
        ("demand", "raster", str(path))])
    cells, notes = load_generic_demand_surface(_layers(_area()), cfg["demand"], cell_m=100.0)
    sums = cells.groupby("unit")[["jobseekers_n", "jobseekers_low_edu_n"]].sum()
    assert sums.loc["285"].tolist() == pytest.approx([35.0, 15.0])
    assert sums.loc["091"].tolist() == pytest.approx([4.0, 0.0])
    assert any("['999']" in n for n in notes)


def test_config_demand_keys_are_checked():
    with pytest.raises(ConfigError, match=r"\[demand\] columns must be a table"):
        build_config(overrides=[("demand", "columns", {"unemployed_n": "x"})])
    with pytest.raises(ConfigError, match=r"\[demand\] raster_measure"):
        build_config(overrides=[("demand", "raster_measure", "jobs_n")])
    cfg = build_config(overrides=[("demand", "table", "t.csv")])
    with pytest.raises(ConfigError, match="needs code_column"):
        load_generic_demand_surface(_layers(_area()), cfg["demand"])


def test_config_target_group_is_checked():
    with pytest.raises(ConfigError, match=r"\[demand\] target_group: unknown key 'gender' "
                                          r"\(known keys: education, sex, age\)"):
        build_config(overrides=[("demand", "target_group", {"gender": ["women"]})])
    with pytest.raises(ConfigError, match=r"education: unknown category \['lowest'\]"):
        build_config(overrides=[("demand", "target_group", {"education": ["lowest"]})])
    with pytest.raises(ConfigError, match="with your own table or raster use category_column"):
        build_config(overrides=[("demand", "target_group", {"education": ["low"]}),
                                ("demand", "table", "t.csv")])
    cfg = build_config(overrides=[("demand", "target_group",
                                   {"education": ["low", "foreign_unrecognised"]})])
    assert cfg["demand"]["target_group"] == {"education": ["low", "foreign_unrecognised"]}
