"""Tests of productivecity.sources.units: population, municipalities, neighbourhoods."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import box

from productivecity import AreaError, CRSError, DataSourceError, EmptyLayerError, SchemaError
from productivecity.sources import units
from productivecity.sources.regions import belgium


@pytest.fixture
def squares(tmp_path):
    """Three 1 km municipalities in a row (EPSG:31370) as a GeoPackage, and a population CSV."""
    gdf = gpd.GeoDataFrame(
        {"geoitem": ["21001", "21002", "23088"], "naam": ["A", "B", "C"]},
        geometry=[box(0, 0, 1000, 1000), box(1000, 0, 2000, 1000), box(2000, 0, 3000, 1000)],
        crs="EPSG:31370",
    )
    path = tmp_path / "munis.gpkg"
    gdf.to_file(path)
    pop = tmp_path / "bevolking_2020-01-01.csv"
    # Statbel quirks: BOM, CRLF, aggregate rows, codes written as numbers
    pop.write_bytes(
        "\ufeffNIS code,Woonplaats,Mannen,Vrouwen,Totaal\r\n"
        "01000,België,5,5,100\r\n04000,Brussels Gewest,3,3,30\r\n"
        "21001,A,5,6,11\r\n21002,B,10,10,20\r\n".encode("utf-8")
    )
    return path, pop


def test_read_population_handles_bom_and_aggregates(squares):
    _, pop = squares
    table, rep = belgium.read_population(pop)
    assert list(table.index) == ["21001", "21002"]
    assert table.loc["21001", "population_n"] == 11
    assert table["population_year"].iloc[0] == 2020
    assert rep.skipped == {"aggregate rows (country, region, province, arrondissement)": 2}
    assert rep.read_n == len(table) + 2


def test_read_population_names_missing_column(tmp_path):
    p = tmp_path / "p.csv"
    p.write_text("NIS code,Woonplaats,Mannen\n21001,A,3\n")
    with pytest.raises(SchemaError, match=r"population column.*available columns.*Mannen"):
        belgium.read_population(p)


def test_municipalities_overlap_rule_and_population(squares):
    path, pop = squares
    # area covers all of A, 40 % of B, a 0.5 % sliver of C
    area = gpd.GeoSeries([box(0, 0, 1400, 1000).union(box(2000, 0, 2005, 1000))], crs=31370)
    gdf, rep = units.municipalities(area, path=path, population=pop)
    assert list(gdf.index) == ["21001", "21002"]
    assert rep.outside_area_n == 1 and rep.features_n == 2
    assert any("sliver" in n for n in rep.notes)
    assert gdf.loc["21002", "population_n"] == 20
    assert gdf["area_ha"].tolist() == pytest.approx([100.0, 100.0])
    assert gdf.crs.to_epsg() == 31370


def test_municipalities_population_unknown_is_na(squares):
    path, pop = squares
    gdf, rep = units.municipalities(None, path=path, population=pop)
    assert pd.isna(gdf.loc["23088", "population_n"])
    assert str(gdf["population_n"].dtype) == "Int64"
    assert any("no population" in n for n in rep.notes)


def test_municipalities_area_in_other_crs(squares):
    path, _ = squares
    area = gpd.GeoSeries([box(0, 0, 900, 900)], crs=31370).to_crs(4326)
    gdf, _ = units.municipalities(area, path=path)
    assert list(gdf.index) == ["21001"]


def test_bad_inputs_one_clear_error_each(squares, tmp_path):
    path, _ = squares
    with pytest.raises(DataSourceError, match="does not exist"):
        units.municipalities(None, path=tmp_path / "nope.shp")
    with pytest.raises(DataSourceError, match="path=... or data_dir"):
        units.municipalities(None)
    with pytest.raises(EmptyLayerError, match="no municipalities overlap"):
        units.municipalities(gpd.GeoSeries([box(9000, 9000, 9100, 9100)], crs=31370), path=path)
    with pytest.raises(CRSError):
        units.municipalities(gpd.GeoSeries([box(0, 0, 10, 10)]), path=path)
    with pytest.raises(AreaError):
        units.municipalities(gpd.GeoSeries([], crs=31370), path=path)


def test_shapefile_without_prj_is_refused(tmp_path):
    gdf = gpd.GeoDataFrame({"geoitem": ["21001"], "naam": ["A"]},
                           geometry=[box(0, 0, 1, 1)], crs="EPSG:31370")
    shp = tmp_path / "gemeente.shp"
    gdf.to_file(shp)
    shp.with_suffix(".prj").unlink()
    with pytest.raises(CRSError, match="no CRS"):
        units.municipalities(None, path=shp)


def test_sector_population_to_wijk_conserves_totals():
    lookup = pd.Series(["X", "X", "Y", "Y", "Z"],
                       index=["11001A00K", "11001A00L", "11001A01-", "11001B02K", "11001B03K"])
    sectors = pd.Series([10.0, 5.0, 7.0, 100.0],
                        index=["11001A00-", "11001A01-", "11001B02-", "11001C99-"])
    sums, tally = belgium.sector_population_by_wijk(sectors, lookup)
    # A00- by prefix -> X; A01- exact -> Y; B02- by prefix -> Y; C99- unassigned
    assert sums.to_dict() == {"X": 10.0, "Y": 12.0}
    assert tally["unassigned"] == 100.0
    assert sums.sum() + tally["unassigned"] == sectors.sum()


def test_generic_neighbourhoods_and_duplicates(tmp_path):
    gdf = gpd.GeoDataFrame(
        {"code": ["N1", "N2", "N2"], "name": ["a", "b", "b2"], "nis5": ["21001", "21001", "21001"]},
        geometry=[box(0, 0, 100, 100), box(100, 0, 200, 100), box(200, 0, 300, 100)], crs=31370)
    p = tmp_path / "neighbourhoods.gpkg"
    gdf.to_file(p)
    out, rep = units.neighbourhoods(None, path=p)
    assert list(out.index) == ["N1", "N2"]
    assert rep.skipped == {"duplicate code (first kept)": 1}
    assert out["population_n"].isna().all()
    assert list(out.columns) == [*units.NEIGHBOURHOOD_COLUMNS, "geometry"]


def test_neighbourhood_missing_columns_named(tmp_path):
    gdf = gpd.GeoDataFrame({"id": [1]}, geometry=[box(0, 0, 1, 1)], crs=31370)
    p = tmp_path / "n.gpkg"
    gdf.to_file(p)
    with pytest.raises(SchemaError, match=r"\['code', 'name'\].*available columns: \['id'\]"):
        units.neighbourhoods(None, path=p)


# ---------------------------------------------------------------------------- real data

BRUSSELS_19 = [f"210{i:02d}" for i in range(1, 20)]


@pytest.fixture(scope="module")
def area(testbed):
    from productivecity.area import study_area

    return study_area("brussels-vilvoorde", data_dir=testbed)


@pytest.mark.integration
def test_testbed_municipalities(testbed, area):
    gdf, rep = units.municipalities(area, data_dir=testbed)
    assert set(gdf.index) == {*BRUSSELS_19, "23088", "23047"}
    assert gdf.loc["21012", "population_n"] == 97979
    assert gdf.loc["23088", "population_n"] == 45495
    assert gdf.loc["23047", "population_n"] == 15605
    assert gdf["population_n"].notna().all()
    # Statbel's regional row (04000, left out as an aggregate) equals the sum of the 19
    pop, _ = belgium.read_population(next((testbed / "stats").glob("*population*.csv")))
    assert gdf.loc[BRUSSELS_19, "population_n"].sum() == 1218255
    assert "04000" not in pop.index
    assert rep.outside_area_n + rep.features_n == rep.read_n == 304


@pytest.mark.integration
def test_testbed_ggw7_neighbourhoods(testbed, area):
    gdf, rep = units.neighbourhoods(area, data_dir=testbed)
    counts = gdf["nis5"].value_counts()
    assert counts[counts.index.isin(BRUSSELS_19)].sum() == 204
    assert counts["23088"] == 8 and counts["23047"] == 10
    assert (gdf["source"] == "ggw7").all()
    assert gdf.loc[gdf["nis5"].isin(BRUSSELS_19), "population_n"].isna().all()
    # Flemish wijken: sums of sector populations, never more than the municipality's sectors
    secpop = pd.read_csv(testbed / "population" / "flanders_statsec_population_c2019_bimd2011.csv",
                         dtype={"nis5": str})
    vil = secpop.loc[secpop["nis5"] == "23088", "population_total_c2019"].sum()
    got = gdf.loc[gdf["nis5"] == "23088", "population_n"].sum()
    assert 0.9 * vil <= got <= vil
    assert any("lower bounds" in n for n in rep.notes)


@pytest.mark.integration
def test_testbed_urbis_quarters(testbed, area):
    path = next((testbed / "boundaries").glob("urbis*quartiers*.gpkg"))
    gdf, rep = units.neighbourhoods(area, data_dir=testbed, path=path)
    assert len(gdf) == 145 and gdf.index.is_unique
    assert set(gdf["nis5"]) <= set(BRUSSELS_19) and gdf["nis5"].notna().all()
    assert gdf["population_n"].isna().all()
    # the quarters tile the region: total area ≈ 162.4 km² (PROVENANCE part 2)
    assert gdf["area_ha"].sum() == pytest.approx(16240, rel=0.01)
