"""The CRS of a study area: chosen per area, true to scale, named; contradictions refused."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pyproj
import pytest
import shapely

from productivecity import CRSError, crs
from productivecity.area import study_area
from productivecity.sites import grid_sites

GEOD = pyproj.Geod(ellps="WGS84")

#: Boxes in longitude/latitude: Karhula (Finland), São Paulo, Brussels, Rotterdam.
KARHULA = (26.93, 60.52, 26.97, 60.54)
SAO_PAULO = (-46.70, -23.60, -46.60, -23.50)
BRUSSELS = (4.30, 50.80, 4.40, 50.90)


def _geodesic_ha(box) -> float:
    return abs(GEOD.geometry_area_perimeter(shapely.box(*box).segmentize(0.001))[0]) / 1e4


@pytest.mark.parametrize(("box", "epsg"), [(KARHULA, 32635), (SAO_PAULO, 32723),
                                           (BRUSSELS, 32631)])
def test_area_without_preset_gets_its_utm_zone_and_true_areas(box, epsg):
    area = study_area("bbox:" + ",".join(map(str, box)))
    assert area.crs.to_epsg() == epsg
    # within 0.5 % of the geodesic area (UTM: within its scale factor, 0.04 %)
    assert area["area_ha"].iloc[0] == pytest.approx(_geodesic_ha(box), rel=5e-3)


def test_a_named_national_crs_wins_and_is_checked():
    area = study_area("bbox:" + ",".join(map(str, KARHULA)), crs="EPSG:3067")
    assert area.crs.to_epsg() == 3067  # ETRS-TM35FIN, the Finnish national grid
    assert area["area_ha"].iloc[0] == pytest.approx(_geodesic_ha(KARHULA), rel=5e-3)
    with pytest.raises(CRSError, match="not a projected CRS in metres"):
        study_area("bbox:" + ",".join(map(str, KARHULA)), crs="EPSG:4326")
    # a CRS made for another part of the world distorts lengths: refused, with a better one
    with pytest.raises(CRSError, match=r"distorts lengths by .*EPSG:32635"):
        study_area("bbox:" + ",".join(map(str, KARHULA)), crs="EPSG:31370")
    with pytest.raises(CRSError, match="EPSG:999999"):
        study_area("bbox:" + ",".join(map(str, KARHULA)), crs="EPSG:999999")


def test_a_file_in_a_true_to_scale_crs_keeps_it_web_mercator_does_not(tmp_path):
    box = gpd.GeoSeries([shapely.box(*KARHULA)], crs=4326).segmentize(0.001)
    for epsg, expected in ((3067, 3067), (3857, 32635)):
        path = tmp_path / f"area_{epsg}.gpkg"
        gpd.GeoDataFrame(geometry=box.to_crs(epsg)).to_file(path)
        area = study_area(path)
        assert area.crs.to_epsg() == expected
        assert area["area_ha"].iloc[0] == pytest.approx(_geodesic_ha(KARHULA), rel=5e-3)


def test_lonlat_declared_as_metres_is_refused(tmp_path):
    """The issue's case: lon/lat numbers in a file that says it is in a projected CRS."""
    gdf = gpd.GeoDataFrame(geometry=[shapely.box(*KARHULA)], crs=32635)
    path = tmp_path / "wrong.gpkg"
    gdf.to_file(path)
    with pytest.raises(CRSError, match=r"wrong\.gpkg.*look like longitude/latitude"):
        study_area(path)
    # and metres declared as degrees
    metres = gpd.GeoDataFrame(geometry=[shapely.box(500_000, 6_700_000, 501_000, 6_701_000)],
                              crs=4326)
    path = tmp_path / "metres.gpkg"
    metres.to_file(path)
    with pytest.raises(CRSError, match=r"metres\.gpkg.*not degrees"):
        study_area(path)


def test_coordinates_far_outside_the_declared_crs_are_refused():
    # Finnish metres declared as Belgian Lambert 72: "its coordinates put it at ..."
    gdf = gpd.GeoDataFrame(geometry=[shapely.box(500_000, 6_700_000, 501_000, 6_701_000)],
                           crs=31370)
    with pytest.raises(CRSError, match="far outside the area of use"):
        crs.check_coordinates(gdf, what="zones.gpkg")


def test_grid_lengths_and_areas_agree_with_geodesic_ones_far_from_belgium():
    """Cells of a São Paulo grid: sides and areas within 0.5 % of the geodesic ones."""
    area = study_area("bbox:" + ",".join(map(str, SAO_PAULO)))
    sites, _ = grid_sites(area, cell_m=500, shape="square")
    inner = sites.loc[np.isclose(sites["area_ha"], 25.0)]
    lonlat = inner.to_crs(4326)
    geo_ha = np.array([abs(GEOD.geometry_area_perimeter(g)[0]) / 1e4 for g in lonlat.geometry])
    np.testing.assert_allclose(inner["area_ha"], geo_ha, rtol=5e-3)
    side = [GEOD.line_length(*np.asarray(g.exterior.coords)[:2].T) for g in lonlat.geometry]
    np.testing.assert_allclose(side, 500.0, rtol=5e-3)


def test_north_angle_is_the_meridian_convergence():
    # Finland drawn in Belgian Lambert 72 is rotated ~17°; in its own UTM zone, not at all
    assert crs.north_angle_deg("EPSG:31370", 26.95, 60.53) == pytest.approx(-17.43, abs=0.05)
    assert abs(crs.north_angle_deg("EPSG:32635", 26.95, 60.53)) < 0.1
    # independent check: the direction of a small step north, projected
    tr = pyproj.Transformer.from_crs(4326, "EPSG:32723", always_xy=True)
    (x0, x1), (y0, y1) = tr.transform([-46.65, -46.65], [-23.55, -23.549])
    assert crs.north_angle_deg("EPSG:32723", -46.65, -23.55) == pytest.approx(
        np.degrees(np.arctan2(x1 - x0, y1 - y0)), abs=1e-3)


def test_messages_suggest_the_data_s_own_crs_never_a_fixed_one():
    pts = gpd.GeoDataFrame(geometry=[shapely.Point(26.95, 60.53)], crs=4326)
    with pytest.raises(CRSError, match="EPSG:32635") as err:
        crs.require_metric(pts, what="stops")
    assert "31370" not in str(err.value)
    assert crs.crs_label("EPSG:3067") == "EPSG:3067 (ETRS89 / TM35FIN(E,N))"


def test_distorted_metric_crs_is_not_used_for_metric_work():
    """A Web Mercator area gives grid cells measured in its UTM zone, true to scale."""
    box = shapely.box(*KARHULA)
    area = gpd.GeoSeries([box.segmentize(0.001)], crs=4326).to_crs(3857)  # metres, ×2 at 60° N
    assert crs.metric_crs_of(area, what="area").to_epsg() == 32635
    sites, _ = grid_sites(area, cell_m=250)
    assert sites.crs.to_epsg() == 32635
    assert sites["area_ha"].sum() == pytest.approx(_geodesic_ha(KARHULA), rel=5e-3)


def test_a_bare_geometry_in_lonlat_is_an_area():
    area = study_area(shapely.box(*KARHULA), crs=4326)  # crs: the coordinates' CRS
    assert area.crs.to_epsg() == 32635
    assert area["area_ha"].iloc[0] == pytest.approx(_geodesic_ha(KARHULA), rel=5e-3)
