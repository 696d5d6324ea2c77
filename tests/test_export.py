"""Exports: GeoPackage, GeoParquet, CSV, GeoTIFF surface and HTML report."""

from __future__ import annotations

import base64
import re

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import rasterio
import shapely
from _outputs_data import CELL_M, SPEC, sample_layers, scored_sites

from productivecity._errors import OutputExistsError, SchemaError
from productivecity.outputs import export, maps, report


@pytest.fixture(scope="module")
def scored():
    """(sites with score/rank/contrib columns, SuitabilityResult, MonteCarloResult)."""
    return scored_sites()


def test_ranked_sites_order_columns_and_stability(scored):
    sites, result, mc = scored
    before = sites.copy()
    table = export.ranked_sites(sites, stability=mc)
    assert sites.equals(before)
    assert table.index.name == "site_id" and len(table) == len(sites)
    eligible = table[table["status"] == "eligible"]
    # best first: scores never increase down the table; excluded, then not assessable, last
    assert (np.diff(eligible["score"].to_numpy()) <= 0).all()
    rest = table["status"].iloc[len(eligible):]
    assert rest.ne("eligible").all() and rest.is_monotonic_increasing  # excluded < not ...
    assert list(table.columns[:4]) == ["rank", "score", "topk_share", "rank_p05"]
    assert list(table.columns[-4:]) == ["excluded", "excluded_reason", "missing_inputs",
                                        "geometry"]
    pd.testing.assert_series_equal(table["topk_share"], mc.table["topk_share"].reindex(
        table.index), check_names=False)
    with pytest.raises(SchemaError, match="matches none"):
        export.ranked_sites(sites, stability=mc.table.set_axis(range(len(mc.table))))
    with pytest.raises(SchemaError, match="score"):
        export.ranked_sites(sites.drop(columns="score"))


def test_geopackage_has_every_layer_and_stable_attributes(scored, tmp_path):
    sites, _, mc = scored
    layers = sample_layers()
    a = export.write_gpkg(sites, layers, tmp_path / "a.gpkg", stability=mc)
    b = export.write_gpkg(sites, layers, tmp_path / "b.gpkg", stability=mc)
    names = [n for n, _ in pyogrio.list_layers(a)]
    assert names[0] == "sites"
    # every layer is there; the canal mixes lines and water polygons -> split
    expected = {n for n in layers.layers if n != "canal"} | {"canal_lines", "canal_polygons"}
    assert set(names[1:]) == expected
    for name in expected - {"canal_lines", "canal_polygons"}:
        assert pyogrio.read_info(a, layer=name)["features"] == len(layers[name])
    canal_n = sum(pyogrio.read_info(a, layer=n)["features"] for n in ("canal_lines",
                                                                       "canal_polygons"))
    assert canal_n == len(layers["canal"])
    ta = gpd.read_file(a, layer="sites")
    tb = gpd.read_file(b, layer="sites")
    pd.testing.assert_frame_equal(ta.drop(columns="geometry"), tb.drop(columns="geometry"))
    assert ta.crs.to_epsg() == 31370
    # values as scored; rank NULL for excluded sites
    ref = sites.reindex(ta["site_id"])
    np.testing.assert_allclose(ta["score"], ref["score"], equal_nan=True)
    assert ta.loc[ta["status"] != "eligible", "rank"].isna().all()
    assert (ta.loc[ta["status"] == "eligible", "rank"].to_numpy()
            == ref.loc[ref["status"] == "eligible", "rank"].to_numpy()).all()
    with pytest.raises(OutputExistsError):
        export.write_gpkg(sites, layers, a)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.gpkg", "b.gpkg"]


def test_geopackage_with_isochrones(scored, tmp_path):
    sites, _, _ = scored
    top = sites[sites["rank"] <= 2]
    iso = gpd.GeoDataFrame(
        geometry=[g.buffer(r) for g in top.geometry.centroid for r in (300.0, 600.0)],
        index=pd.MultiIndex.from_product([top.index, [5.0, 10.0]],
                                         names=["site_id", "time_min"]),
        crs=sites.crs,
    )
    path = export.write_gpkg(sites, {}, tmp_path / "iso.gpkg", isochrones=iso)
    back = gpd.read_file(path, layer="isochrones")
    assert list(back.columns[:2]) == ["origin", "time_min"] and len(back) == 4


def test_geoparquet_roundtrip(scored, tmp_path):
    sites, _, mc = scored
    path = export.write_geoparquet(sites, tmp_path / "sites.parquet", stability=mc)
    back = gpd.read_parquet(path)
    assert back.crs.to_epsg() == 31370
    assert back["site_id"].tolist() == export.ranked_sites(sites).index.tolist()
    assert back.geometry.geom_equals(export.ranked_sites(sites).geometry.reset_index(
        drop=True)).all()
    assert "topk_share" in back.columns


def test_csv_centroids_and_wkt(scored, tmp_path):
    sites, _, _ = scored
    path = export.write_sites_csv(sites, tmp_path / "sites.csv", wkt=True)
    df = pd.read_csv(path, index_col="site_id")
    assert df.columns[0] == "rank" and len(df) == len(sites)
    # full grid cells: the centroid is the middle of the cell (hand reference)
    full = sites[np.isclose(sites.area, CELL_M**2)]
    sid = full.index[0]
    xmin, ymin, _, _ = full.geometry.loc[sid].bounds
    assert df.at[sid, "centroid_x_m"] == pytest.approx(xmin + CELL_M / 2)
    assert df.at[sid, "centroid_y_m"] == pytest.approx(ymin + CELL_M / 2)
    assert 4.2 < df.at[sid, "centroid_lon"] < 4.5 and 50.7 < df.at[sid, "centroid_lat"] < 51.0
    assert shapely.from_wkt(df.at[sid, "geometry_wkt"]).equals(full.geometry.loc[sid])
    assert pd.isna(df.loc[df["excluded"], "rank"]).all()
    text = path.read_text(encoding="utf-8")
    assert "\r" not in text and text.startswith("site_id,rank,score,")


def test_geotiff_surface(scored, tmp_path):
    sites, _, _ = scored
    path = export.write_suitability_raster(sites, tmp_path / "score.tif")
    with rasterio.open(path) as src:
        assert src.crs.to_epsg() == 31370
        assert src.res == (25.0, 25.0) and src.nodata == -9999.0
        assert src.overviews(1) == [2] and src.descriptions == ("score",)
        data = src.read(1)
        transform = src.transform
    # a full 250 m cell covers exactly 10 x 10 raster cells holding its score
    full = sites[np.isclose(sites.area, CELL_M**2) & sites["score"].notna()]
    sid = full.index[0]
    xmin, _, _, ymax = full.geometry.loc[sid].bounds
    col, row = ~transform @ (xmin + 1, ymax - 1)
    block = data[int(row) : int(row) + 10, int(col) : int(col) + 10]
    np.testing.assert_allclose(block, np.float32(sites.at[sid, "score"]))
    # excluded sites are nodata
    ex = sites[sites["excluded"]].geometry.iloc[0].representative_point()
    c, r = ~transform @ (ex.x, ex.y)
    assert data[int(r), int(c)] == -9999.0
    # same input, same bytes; resolution is a parameter
    again = export.write_suitability_raster(sites, tmp_path / "again.tif")
    assert again.read_bytes() == path.read_bytes()
    coarse = export.write_suitability_raster(sites, tmp_path / "c.tif", resolution_m=50)
    with rasterio.open(coarse) as src:
        assert src.width * 2 == data.shape[1]
    with pytest.raises(ValueError, match="resolution_m"):
        export.write_suitability_raster(sites, tmp_path / "x.tif", resolution_m=0)
    with pytest.raises(OutputExistsError):
        export.write_suitability_raster(sites, path)


def test_html_report(scored, tmp_path):
    sites, _, mc = scored
    layers = sample_layers()
    fig, _ = maps.plot_overview(sites, layers, date="2026-05-01", paper="A4")
    png = maps.save_figure(fig, tmp_path / "overview.png", dpi=40)
    kw = dict(stability=mc, layers=layers, spec=SPEC, top_k=5, date="2026-05-01",
              figures={"Overview": fig, "Overview file": png}, figure_dpi=40)
    path = report.write_report(sites, tmp_path / "report.html", **kw)
    text = path.read_text(encoding="utf-8")
    top = sites[sites["rank"] <= 5].sort_values("rank").index.tolist()
    rows = re.findall(r"<tr><td class='n'><b>(\d+)</b></td><td>(\w+)</td>", text)
    assert [sid for _, sid in rows] == top
    assert "Share of runs in top 5" in text and "Rank, 5-95\u00a0%" in text  # no break
    assert "canal_distance_m" in text and "0.300" in text  # criteria table with weights
    assert "synthetic sample data" in text
    data = re.findall(r"src='data:image/png;base64,([^']+)'", text)
    assert len(data) == 2  # the Figure and the PNG file, both embedded: one file
    assert all(base64.b64decode(d)[:8] == b"\x89PNG\r\n\x1a\n" for d in data)
    assert "overview.png" not in text
    again = report.write_report(sites, tmp_path / "again.html", **kw)
    assert again.read_bytes() == path.read_bytes()
    # without stability the columns are left out; labels follow the language
    plain = report.write_report(sites, tmp_path / "nl.html", lang="nl", top_k=3)
    nl = plain.read_text(encoding="utf-8")
    assert "Aandeel runs" not in nl and "Beste locaties" in nl
    with pytest.raises(OutputExistsError):
        report.write_report(sites, path)
