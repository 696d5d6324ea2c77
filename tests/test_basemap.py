"""The base map: read from the run's own OSM file, drawn under the print and web maps."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import shapely
from matplotlib.figure import Figure

import productivecity as pc
from productivecity.outputs import maps, webmap
from productivecity.outputs.basemap import draw_basemap, map_scale, unit_labels
from productivecity.sources.basemap import STREET_KINDS, read_basemap


@pytest.fixture(scope="module")
def sample_layers():
    return pc.load_layers("sample", progress=False)


@pytest.fixture(scope="module")
def sample_basemap(sample_layers):
    return read_basemap(sample_layers)


@pytest.fixture(scope="module")
def fake_sites(sample_layers):
    """Three scored square sites in the middle of the sample area."""
    x0, y0, x1, y1 = sample_layers["study_area"].total_bounds
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    boxes = [shapely.box(cx + i * 150, cy, cx + i * 150 + 100, cy + 100) for i in range(3)]
    return gpd.GeoDataFrame({"score": [0.9, 0.5, 0.1], "rank": [1, 2, 3],
                             "excluded": [False, False, False]},
                            index=gpd.pd.Index(["a", "b", "c"], name="site_id"),
                            geometry=boxes, crs=sample_layers["study_area"].crs)


def _axes(width_in: float = 6.0, height_in: float = 4.5):
    fig = Figure(figsize=(width_in, height_in), dpi=100)
    return fig.add_axes((0.0, 0.0, 1.0, 1.0))


def _window(ax, bounds):
    x0, y0, x1, y1 = bounds
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    return bounds


def _gids(ax) -> list[str]:
    return [a.get_gid() for a in ax.collections]


def _street_texts(ax) -> list[str]:
    return [t.get_text() for t in ax.texts if t.get_gid() == "basemap_street_name"]


def test_sample_basemap_has_named_streets_in_the_run_crs(sample_layers, sample_basemap):
    bm = sample_basemap
    assert bm.crs == sample_layers["study_area"].crs
    assert len(bm.streets) > 1000
    assert set(bm.streets["kind"]) <= set(STREET_KINDS)
    assert {"residential", "secondary", "tertiary"} <= set(bm.streets["kind"])
    assert bm.streets["name"].notna().mean() > 0.9
    assert bm.streets["name"].str.startswith("Sample").any()
    assert len(bm.water) and len(bm.green)
    # clipped to the area plus the margin
    area = sample_layers["study_area"].geometry.iloc[0].buffer(501)
    assert bm.streets.within(area).all()
    assert any("sample_canal_town.osm" in n for n in bm.notes)
    assert bm.report.features_n == sum(len(f) for f in bm.frames().values())


def test_street_names_only_when_zoomed_in(sample_layers, sample_basemap):
    whole = _axes()
    bounds = _window(whole, sample_layers["study_area"].total_bounds)
    assert map_scale(whole) > 25_000
    assert draw_basemap(whole, sample_basemap, bounds=bounds, lang="en") == []
    assert {"basemap_streets", "basemap_green", "basemap_water"} <= set(_gids(whole))
    assert _street_texts(whole) == []
    assert "basemap_streets_over" not in _gids(whole)

    zoom = _axes()
    x0, y0, x1, y1 = sample_layers["study_area"].total_bounds
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    bounds = _window(zoom, (cx - 400, cy - 300, cx + 400, cy + 300))
    assert map_scale(zoom) < 25_000
    names = draw_basemap(zoom, sample_basemap, bounds=bounds, lang="en")
    texts = _street_texts(zoom)
    assert names and texts == names
    assert all(t.startswith("Sample ") for t in texts)
    assert "basemap_streets_over" in _gids(zoom)  # the streets' course over the sites
    # deterministic, and no two labels of one street next to each other
    again = _axes()
    _window(again, bounds)
    assert draw_basemap(again, sample_basemap, bounds=bounds, lang="en") == names
    assert draw_basemap(_axes(), sample_basemap, bounds=bounds, lang="en", labels=False) == []


def test_plot_overview_draws_the_basemap_under_the_sites(sample_layers, sample_basemap,
                                                         fake_sites):
    ax = _axes()
    maps.plot_overview(fake_sites, sample_layers, ax=ax, top_k=3, basemap=sample_basemap)
    gids = _gids(ax)
    assert "basemap_streets" in gids
    streets_z = max(c.get_zorder() for c in ax.collections if c.get_gid() == "basemap_streets")
    others = [c.get_zorder() for c in ax.collections if c.get_gid() is None]
    assert streets_z < max(others)
    bare = _axes()
    maps.plot_overview(fake_sites, sample_layers, ax=bare, top_k=3)
    assert not any(g and g.startswith("basemap") for g in _gids(bare))


def test_web_map_has_the_street_layer(sample_layers, sample_basemap, fake_sites):
    html = webmap.web_map_html(webmap.web_map(fake_sites, sample_layers, lang="fr",
                                              basemap=sample_basemap))
    assert "Sample Street 13" in html  # a street name in a tooltip
    assert "Rues" in html and "Parcs et espaces verts" in html  # layer names in French
    bare = webmap.web_map_html(webmap.web_map(fake_sites, sample_layers, lang="fr"))
    assert "Sample Street 13" not in bare and "Rues" not in bare
    assert len(html) - len(bare) < 400_000  # simplified, merged by name


def test_missing_source_gives_an_empty_basemap_with_a_note(sample_layers, tmp_path):
    bm = read_basemap(sample_layers, tmp_path)  # a data directory without an OSM file
    assert bm.empty and bm.crs == sample_layers["study_area"].crs
    assert any("no OSM file" in n for n in bm.notes)
    ax = _axes()
    _window(ax, sample_layers["study_area"].total_bounds)
    assert draw_basemap(ax, bm, bounds=sample_layers["study_area"].total_bounds,
                        lang="en") == []
    assert not ax.collections and not ax.texts
    broken = tmp_path / "broken.osm"
    broken.write_text("<osm><node id='1'", encoding="utf-8")
    bm = read_basemap(sample_layers, source=broken)
    assert bm.empty and any("not readable" in n for n in bm.notes)


@pytest.fixture(scope="module")
def testbed_munis(testbed):
    munis = pyogrio.read_dataframe(testbed / "boundaries/provincies_in_cijfers/gemeente.shp",
                                   where="geoitem IN ('21013', '23088')")
    return munis.rename(columns={"naam": "name"}).set_index("geoitem").sort_index()


@pytest.fixture(scope="module")
def testbed_basemap(testbed, testbed_munis):
    area = gpd.GeoDataFrame(geometry=[shapely.union_all(testbed_munis.geometry.values)],
                            crs=testbed_munis.crs)
    return read_basemap({"study_area": area}, testbed, margin_m=0.0)


def test_testbed_streets_in_brussels_hardly_any_in_vilvoorde(testbed_basemap, testbed_munis):
    bm = testbed_basemap
    streets = bm.streets
    gilles = testbed_munis.geometry.loc["21013"]
    vilvoorde = testbed_munis.geometry.loc["23088"]
    in_gilles = streets[streets.intersects(gilles)]
    assert len(in_gilles) > 200
    assert in_gilles["name:fr"].notna().sum() > 100 and in_gilles["name:nl"].notna().sum() > 100
    # the 2013 extract holds only a few ways that reach into Vilvoorde from the Brussels
    # side (about 17 km of its hundreds): street length per km² far below Saint-Gilles'
    def km_per_km2(poly):
        return float(streets.intersection(poly).length.sum()) / poly.area * 1000.0

    assert km_per_km2(gilles) > 20.0
    assert km_per_km2(vilvoorde) < 0.1 * km_per_km2(gilles)
    assert {"fr", "nl"} <= set(bm.languages)
    # municipality names in the output language from the OSM place names
    labels = unit_labels(testbed_munis, bm, "fr")
    assert labels.loc["21013"] == "Saint-Gilles" and labels.loc["23088"] == "Vilvoorde"
    assert unit_labels(testbed_munis, bm, "nl").loc["21013"] == "Sint-Gillis"
    # drawn zoomed in: French street names in Saint-Gilles
    ax = _axes(8.0, 6.0)
    c = gilles.centroid
    bounds = _window(ax, (c.x - 600, c.y - 450, c.x + 600, c.y + 450))
    names = draw_basemap(ax, bm, bounds=bounds, lang="fr")
    assert len(names) > 5
    assert np.mean([n.startswith(("Rue", "Avenue", "Place", "Chaussée", "Parvis", "Boulevard"))
                    for n in names]) > 0.6
    # the print maps write the municipality names in the output language
    from matplotlib.text import Text

    sites = gpd.GeoDataFrame({"score": [0.5], "rank": [1], "excluded": [False]},
                             geometry=[gilles.centroid.buffer(100)], crs=testbed_munis.crs)
    layers = {"study_area": gpd.GeoDataFrame(geometry=[gilles], crs=testbed_munis.crs),
              "units_municipalities": testbed_munis}
    texts = {t.get_text() for t in maps.plot_overview(
        sites, layers, top_k=1, lang="fr", basemap=bm, paper="A4")[0].findobj(Text)}
    assert "SAINT-GILLES" in texts and "SINT-GILLIS" not in texts
    texts = {t.get_text() for t in maps.plot_overview(
        sites, layers, top_k=1, lang="fr", paper="A4")[0].findobj(Text)}
    assert "SINT-GILLIS" in texts  # without the base map: the units' own names
