"""Tests of productivecity.sources.hubs: the shipped catalogue and the user's hubs."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Point, box

from productivecity import CRSError, DataSourceError, EmptyLayerError, SchemaError
from productivecity.sources import hubs

REQUIRED = ["Atelier Groot Eiland", "Budafabriek", "BROEI", "T2-Campus", "Timelab (De Schuur)",
            "Impact Factory", "Makerswijk Arsenaal", "Innovation Powerhouse",
            "Rotterdam Makers District (M4H)"]


def test_catalogue_schema_and_content():
    cat = hubs.catalogue()
    assert cat.index.is_unique and cat.index.name == "hub_id"
    assert set(REQUIRED) <= set(cat["name"])
    assert set(cat["type"]) <= set(hubs.HUB_TYPES)
    assert cat.crs.to_epsg() == 4326  # as in the CSV; hubs() projects to the area's CRS
    assert cat["source_url"].str.startswith("http").all()
    assert (cat["checked"] == "2026-11-21").all()
    # capacity unknown stays <NA>, never a default 0
    assert str(cat["training_places_n"].dtype) == "Int64"
    assert not (cat["training_places_n"] == 0).any()
    be = cat["country"] == "BE"
    assert cat.loc[be, "municipality_nis5"].str.fullmatch(r"\d{5}").all()
    assert (cat.loc[~be, "municipality_nis5"] == "").all()


@pytest.fixture
def user_csv(tmp_path):
    p = tmp_path / "my_hubs.csv"
    p.write_text(
        "name;lon;lat;type;training_places_n\n"
        "Atelier Groot Eiland;4.33911;50.85140;maker_learning_hub;40\n"   # repeats the catalogue
        "Nieuwe Maakplek;4,3500;50,8600;fablab;12\n"
        "Zonder plek;;;fablab;\n"
        "Nieuwe Maakplek;4.36;50.87;odd-type;\n",
        encoding="utf-8",
    )
    return p


def test_read_hubs_csv(user_csv):
    gdf, rep = hubs.read_hubs(user_csv)
    assert list(gdf.index) == ["atelier-groot-eiland", "nieuwe-maakplek", "nieuwe-maakplek-2"]
    assert gdf.loc["nieuwe-maakplek", "training_places_n"] == 12
    assert pd.isna(gdf.loc["nieuwe-maakplek-2", "training_places_n"])
    assert gdf.loc["nieuwe-maakplek-2", "type"] == "other"
    assert rep.skipped == {"no coordinates": 1}
    assert gdf.crs.to_epsg() == 4326  # the CSV's coordinates, as given
    assert gdf.loc["nieuwe-maakplek"].geometry.equals_exact(Point(4.35, 50.86), 1e-9)


def test_hubs_user_replaces_same_catalogue_hub(user_csv):
    gdf, rep = hubs.hubs(None, path=user_csv)
    assert gdf.index.is_unique
    row = gdf[gdf["name"] == "Atelier Groot Eiland"]
    assert len(row) == 1 and row["source"].iloc[0] == str(user_csv)
    assert rep.skipped["catalogue hub replaced by the same hub in the user's file"] == 1
    assert rep.features_n == len(hubs.catalogue()) - 1 + 3


def test_hubs_area_filter_and_empty(user_csv):
    area = gpd.GeoSeries([box(4.30, 50.80, 4.45, 50.95)], crs=4326)
    gdf, rep = hubs.hubs(area)
    assert "budafabriek" not in gdf.index and "atelier-groot-eiland" in gdf.index
    assert rep.outside_area_n + rep.features_n == len(hubs.catalogue())
    with pytest.raises(EmptyLayerError, match="no hub lies"):
        hubs.hubs(gpd.GeoSeries([box(0, 0, 1, 1)], crs=4326))


def test_read_hubs_errors(tmp_path):
    with pytest.raises(DataSourceError, match="does not exist"):
        hubs.read_hubs(tmp_path / "nope.csv")
    p = tmp_path / "h.csv"
    p.write_text("naam,x,y\nA,4.3,50.8\n")
    with pytest.raises(SchemaError, match=r"\['name', 'lon', 'lat'\].*available columns.*naam"):
        hubs.read_hubs(p)
    p.write_text("name,lon,lat,training_places_n\nA,4.3,50.8,lots\n")
    with pytest.raises(SchemaError, match="whole numbers"):
        hubs.read_hubs(p)
    with pytest.raises(DataSourceError, match="no hubs requested"):
        hubs.hubs(None, include_catalogue=False)


def test_read_hubs_vector_files(tmp_path):
    gdf = gpd.GeoDataFrame({"name": ["P", "Q"]}, geometry=[Point(150000, 170000),
                                                           box(0, 0, 10, 10)], crs=31370)
    gp = tmp_path / "hubs.gpkg"
    gdf.to_file(gp)
    out, rep = hubs.read_hubs(gp)
    assert list(out.index) == ["p", "q"] and any("non-point" in n for n in rep.notes)
    shp = tmp_path / "hubs.shp"
    gdf.iloc[:1].to_file(shp)
    shp.with_suffix(".prj").unlink()
    with pytest.raises(CRSError):
        hubs.read_hubs(shp)


# ---------------------------------------------------------------------------- real data

#: Municipal bounding boxes (lon_min, lat_min, lon_max, lat_max) for hubs outside
#: Flanders/Brussels; source documented in productivecity/data/hubs_README.md.
CITY_BBOX = {"Eindhoven": (5.37, 51.39, 5.57, 51.50), "Rotterdam": (3.94, 51.84, 4.60, 52.01)}


@pytest.mark.integration
def test_catalogue_hubs_lie_in_their_municipality(testbed):
    cat = hubs.catalogue()
    munis = gpd.read_file(testbed / "boundaries" / "provincies_in_cijfers" / "gemeente.shp")
    be = cat[cat["country"] == "BE"]
    joined = gpd.sjoin(be.to_crs(munis.crs), munis[["geoitem", "naam", "geometry"]], how="left",
                       predicate="within")
    assert joined["geoitem"].notna().all(), joined[joined["geoitem"].isna()]
    assert (joined["geoitem"] == joined["municipality_nis5"]).all()
    assert (joined["naam"] == joined["city"]).all()
    lonlat = cat.to_crs(4326)
    for hid, row in cat[cat["country"] != "BE"].iterrows():
        x0, y0, x1, y1 = CITY_BBOX[row["city"]]
        pt = lonlat.geometry[hid]
        assert x0 <= pt.x <= x1 and y0 <= pt.y <= y1, hid


@pytest.mark.integration
def test_catalogue_hubs_near_documented_landmarks(testbed):
    cat = hubs.catalogue()
    st = pd.read_csv(testbed / "transit" / "sncb" / "irail_stations.csv", dtype=str)
    st = gpd.GeoDataFrame(st, geometry=gpd.points_from_xy(st.longitude.astype(float),
                                                          st.latitude.astype(float)),
                          crs=4326).to_crs(31370).set_index("name")
    cat = cat.to_crs(31370)
    # Timelab: "200 m from Gent-Dampoort station" (vlaamsbouwmeester.be) ± hand placement
    assert cat.geometry["timelab"].distance(st.geometry["Gent-Dampoort"]) < 400
    # M4H lies west of Rotterdam Centraal, within 10 km
    assert cat.geometry["rotterdam-makers-district"].distance(st.geometry["Rotterdam CS"]) < 10_000
    wijk = gpd.read_file(testbed / "boundaries" / "provincies_in_cijfers" / "ggw7.shp")
    j = gpd.sjoin(cat.loc[["timelab", "broei", "budafabriek", "atelier-groot-eiland",
                           "imal-fablab"]], wijk, how="left", predicate="within")
    assert j.loc["timelab", "naam"].startswith("Dampoort")
    assert j.loc["broei", "naam"].startswith("Binnenstad")
    assert j.loc["budafabriek", "naam"].startswith("Kortrijk Centrum")
    assert j.loc["imal-fablab", "naam"].startswith("Historisch Molenbeek")


@pytest.mark.integration
def test_hubs_in_study_area(testbed):
    from productivecity.area import study_area

    area = study_area("brussels-vilvoorde", data_dir=testbed)
    gdf, rep = hubs.hubs(area)
    assert {"atelier-groot-eiland", "imal-fablab", "openfab", "urlab"} == set(gdf.index)
    assert rep.outside_area_n == len(hubs.catalogue()) - 4
    assert any("no documented training places" in n for n in rep.notes)
