"""The seed-city presets: every preset complete; Gent and Rotterdam geocoded through a loopback
Nominatim server the test starts, in their national grids, with geodesic areas."""

from __future__ import annotations

import math
import re

import geopandas as gpd
import pyproj
import pytest
import shapely
from _loopback import NominatimHandler, serve

from productivecity import AreaError, DataSourceError
from productivecity._i18n import LANGUAGES
from productivecity.area import PRESETS, Preset, preset_municipalities, study_area
from productivecity.crs import as_crs, is_metric
from productivecity.settings import get_settings
from productivecity.sources import regions

SEED_CITIES = ("gent", "kortrijk", "genk", "leuven", "rotterdam", "almere")


def _blob(lon: float, lat: float, r_lon: float, r_lat: float, n: int = 23) -> list:
    """An irregular closed ring around (lon, lat), radii varying by up to ±30 %."""
    ring = []
    for i in range(n):
        a = 2 * math.pi * i / n
        k = 1 + 0.3 * math.sin(3 * a) * math.cos(2 * a)
        ring.append((lon + k * r_lon * math.cos(a), lat + k * r_lat * math.sin(a)))
    return [*ring, ring[0]]


# Boundaries as Nominatim would return them (lon/lat): Gent one polygon of about 150 km²;
# Rotterdam two parts (the city with a hole, and a detached port area in the west).
GENT = shapely.Polygon(_blob(3.72, 51.07, 0.10, 0.055))
ROTTERDAM = shapely.MultiPolygon([
    shapely.Polygon(_blob(4.48, 51.92, 0.09, 0.045), [_blob(4.47, 51.93, 0.01, 0.006)[::-1]]),
    shapely.Polygon(_blob(4.08, 51.95, 0.05, 0.02)),
])
BOUNDARIES = {
    PRESETS["gent"].place_queries[0]: GENT,
    PRESETS["rotterdam"].place_queries[0]: ROTTERDAM,
}


def _geodesic_area_ha(geom) -> float:
    """Area on the WGS 84 ellipsoid of a lon/lat (Multi)Polygon: shells minus holes (ha)."""
    geod = pyproj.Geod(ellps="WGS84")

    def ring_m2(ring) -> float:
        lon, lat = zip(*ring.coords, strict=True)
        return abs(geod.polygon_area_perimeter(lon, lat)[0])

    polys = geom.geoms if geom.geom_type == "MultiPolygon" else [geom]
    return sum(ring_m2(p.exterior) - sum(ring_m2(h) for h in p.interiors) for p in polys) / 1e4


class _Nominatim(NominatimHandler):
    """Answers a search with the boundary of the place asked for, or nothing (as Nominatim)."""

    requests: list[dict] = []

    def place(self, query: str):
        return BOUNDARIES.get(query)


@pytest.fixture()
def nominatim():
    """A Nominatim stand-in on 127.0.0.1 serving the boundaries of :data:`BOUNDARIES`."""
    _Nominatim.requests = []
    with serve(_Nominatim) as url:
        yield url


@pytest.mark.parametrize(("preset", "epsg", "served", "place"), [
    ("gent", 31370, GENT, "Gent"),
    ("rotterdam", 28992, ROTTERDAM, "Rotterdam"),
])
def test_preset_is_geocoded_into_its_national_grid(nominatim, tmp_path, preset, epsg, served,
                                                  place):
    settings = get_settings(offline=False, nominatim_url=nominatim, cache_dir=tmp_path)
    area = study_area(preset, settings=settings)
    assert area.crs.to_epsg() == epsg
    assert area["name"].iloc[0] == preset
    assert "Nominatim" in area["source"].iloc[0]
    # the area is the served boundary: geodesic area within 0.5 %, and the same shape as
    # the served polygon projected by pyproj directly (symmetric difference < 0.01 %)
    assert area["area_ha"].iloc[0] == pytest.approx(_geodesic_area_ha(served), rel=0.005)
    direct = gpd.GeoSeries([served], crs=4326).to_crs(epsg).iloc[0]
    assert area.geometry.iloc[0].symmetric_difference(direct).area < 1e-4 * direct.area
    # one request, for the preset's place, asking for its boundary polygon
    assert len(_Nominatim.requests) == 1
    request = _Nominatim.requests[0]
    assert request["q"] == PRESETS[preset].place_queries[0]
    assert request["q"].startswith(f"{place},")
    assert request["polygon_geojson"] == "1"
    # the members keep the preset's municipality code
    members = preset_municipalities(preset, settings=settings)
    assert list(members.index) == list(PRESETS[preset].codes)
    # the second time the cache answers, also offline, without a request
    again = study_area(preset, settings=settings.replace(offline=True))
    assert again.geometry.iloc[0].equals_exact(area.geometry.iloc[0], 1e-6)
    assert len(_Nominatim.requests) == 1


def test_preset_with_unknown_place_is_an_error_not_an_empty_area(nominatim, tmp_path):
    """A query the geocoder does not know fails (here: Kortrijk, which the server lacks)."""
    settings = get_settings(offline=False, nominatim_url=nominatim, cache_dir=tmp_path)
    with pytest.raises(DataSourceError, match="no boundary polygon for preset 'kortrijk'") as info:
        study_area("kortrijk", settings=settings)
    assert PRESETS["kortrijk"].place_queries[0] in str(info.value)
    assert "34022" in str(info.value)  # and which file would do instead
    assert [r["q"] for r in _Nominatim.requests] == [PRESETS["kortrijk"].place_queries[0]]


@pytest.mark.parametrize(("preset", "code", "column"), [
    ("rotterdam", "GM0599", "gemeentecode"),
    ("gent", "44021", "nis5"),
])
def test_preset_offline_without_cache_says_what_to_download_or_provide(tmp_path, preset, code,
                                                                      column):
    settings = get_settings(offline=True, cache_dir=tmp_path)
    with pytest.raises(DataSourceError) as info:
        study_area(preset, settings=settings)
    msg = str(info.value)
    assert "offline" in msg and PRESETS[preset].place_queries[0] in msg  # what to download
    assert code in msg and repr(column) in msg  # which file would do instead
    if preset == "rotterdam":
        assert "CBS" in msg and "Statbel" not in msg  # the region's own hint, not Belgium's
    else:
        assert "gemeente.shp" in msg


def test_dutch_municipality_file_builds_a_preset_offline(tmp_path):
    """A CBS-style file (codes as numbers, RD New) serves the preset without a download."""
    rotterdam, schiedam = gpd.GeoSeries(
        [shapely.Polygon(_blob(4.48, 51.92, 0.09, 0.045)),
         shapely.Polygon(_blob(4.39, 51.92, 0.02, 0.012))], crs=4326).to_crs(28992)
    path = tmp_path / "gemeenten.gpkg"
    gpd.GeoDataFrame({"gemeentecode": [599, 606], "gemeentenaam": ["Rotterdam", "Schiedam"]},
                     geometry=[rotterdam, schiedam], crs=28992).to_file(path)
    settings = get_settings(offline=True, cache_dir=tmp_path / "cache")
    members = preset_municipalities("rotterdam", municipalities=path, settings=settings)
    assert list(members.index) == ["GM0599"] and members["name"].tolist() == ["Rotterdam"]
    area = study_area("rotterdam", municipalities=path, settings=settings)
    assert area.crs.to_epsg() == 28992
    assert area["area_ha"].iloc[0] == pytest.approx(rotterdam.area / 1e4, rel=1e-4)


def test_every_preset_has_a_metric_crs_a_language_and_a_source():
    assert set(SEED_CITIES) | {"brussels-vilvoorde", "sample"} <= set(PRESETS)
    for name, p in PRESETS.items():
        assert p.name == name
        assert p.crs is not None and is_metric(as_crs(p.crs)), name
        assert p.lang in LANGUAGES, name
        assert p.place_queries or p.data_dir is not None, name
        if p.place_queries:
            assert len(p.place_queries) == len(p.codes), name
        region = regions.preset_region(name)
        if region is not None and region.municipality_codes.pattern:
            pattern = region.municipality_codes.pattern
            assert all(re.fullmatch(pattern, c) for c in p.codes), (name, p.codes)
    for name in SEED_CITIES:
        assert PRESETS[name].lang == "nl"
        assert PRESETS[name].codes == PRESETS[name].nis5  # the deprecated alias still answers
    assert {n: PRESETS[n].codes for n in SEED_CITIES} == {
        "gent": ("44021",), "kortrijk": ("34022",), "genk": ("71016",),
        "leuven": ("24062",), "rotterdam": ("GM0599",), "almere": ("GM0034",)}
    assert {PRESETS[n].crs for n in ("gent", "kortrijk", "genk", "leuven")} == {"EPSG:31370"}
    assert {PRESETS[n].crs for n in ("rotterdam", "almere")} == {"EPSG:28992"}


def test_preset_needs_one_query_per_code():
    with pytest.raises(AreaError, match="one query per code"):
        Preset(name="x", title="X", codes=("1", "2"), place_queries=("X, Y",))
