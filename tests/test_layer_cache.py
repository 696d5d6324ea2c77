"""Bulk decoding of PMTiles archives and the GeoParquet cache of decoded layers."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import shapely

from productivecity.settings import get_settings
from productivecity.sources import _layer_cache, osm
from productivecity.sources import pmtiles as pm

TESTBED = Path(__file__).resolve().parents[2] / "shared" / "data" / "brussels-vilvoorde"
HALF = 20037508.342789244
TILE_Z14 = 2 * HALF / 2**14


def _write_pmtiles(path: Path) -> Path:
    ex, ey = -HALF + 8393 * TILE_Z14, HALF - 5490 * TILE_Z14  # a z14 tile corner in Brussels
    gdf = gpd.GeoDataFrame(
        {"OGC_FID": [11, 12, 21, 31],
         "landuse": ["industrial", "Brownfield", None, "residential"],
         "waterway": [None, None, "canal", None],
         "name": ["Zone A", None, "Canal X", "Houses"]},
        geometry=[shapely.box(ex - 300, ey - 200, ex + 250, ey + 350),
                  shapely.box(ex - 900, ey - 900, ex - 800, ey - 850),
                  shapely.LineString([(ex - 800, ey - 100), (ex + 900, ey + 60)]),
                  shapely.box(ex + 100, ey - 700, ex + 400, ey - 300)],
        crs="EPSG:3857")
    pyogrio.write_dataframe(gdf, path, driver="PMTiles", layer="landuse", use_arrow=True,
                            dataset_options={"MINZOOM": "14", "MAXZOOM": "14"})
    return path


def _both(monkeypatch, call):
    monkeypatch.setattr(pm, "BULK_DECODE", True)
    pm._DECODED.clear()
    fast = call()
    monkeypatch.setattr(pm, "BULK_DECODE", False)
    slow = call()
    monkeypatch.setattr(pm, "BULK_DECODE", True)
    return fast, slow


@pytest.mark.parametrize("where", [None, "landuse IN ('industrial','brownfield')",
                                   '"waterway" IS NOT NULL OR "landuse" IN (\'residential\')'])
def test_bulk_decoding_gives_what_gdal_gives(tmp_path, monkeypatch, where):
    path = _write_pmtiles(tmp_path / "landuse.pmtiles")
    ex, ey = -HALF + 8393 * TILE_Z14, HALF - 5490 * TILE_Z14
    area = gpd.GeoSeries([shapely.box(ex - 290, ey - 190, ex - 200, ey - 100)], crs=3857)
    for kw in ({}, {"area": area}, {"columns": ["name", "landuse"]}):
        fast, slow = _both(monkeypatch, lambda kw=kw: pm.read_pmtiles_with_stats(
            path, where=where, **kw))
        pd.testing.assert_frame_equal(fast[0], slow[0])
        assert fast[1] == slow[1]
    # string columns take the fast path (the numeric OGC_FID column does not), and the
    # decoded fragments are cached on disk
    info = pm.pmtiles_info(path)
    assert pm._fast_reader(path, "landuse", info, ["mvt_id", "name"], where) is not None
    assert pm._fast_reader(path, "landuse", info, None, where) is None
    assert list((get_settings().cache_dir / "layers").glob("pmtiles-landuse.pmtiles-*"))


def test_where_parser():
    assert pm._parse_where('"a" IS NOT NULL OR b IN (\'x\', \'y\'\'z\')') == [
        ("a", None), ("b", ["x", "y'z"])]
    assert pm._parse_where("(landuse IN ('industrial'))") == [("landuse", ["industrial"])]
    assert pm._parse_where("a = 'x'") is None  # other SQL: read through GDAL
    assert pm._parse_where("a LIKE 'x%'") is None


def test_tile_ids_follow_the_pmtiles_hilbert_curve():
    assert [pm._zxy_to_tileid(z, x, y) for z, x, y in
            [(0, 0, 0), (1, 0, 0), (1, 0, 1), (1, 1, 1), (1, 1, 0), (2, 0, 0)]] == [
        0, 1, 2, 3, 4, 5]


def test_cache_entry_reused_recomputed_when_corrupt_and_keyed_by_content(tmp_path):
    src = tmp_path / "src.txt"
    src.write_text("one")
    calls = []

    def compute():
        calls.append(1)
        return gpd.GeoDataFrame({"v": [len(calls)]}, geometry=[shapely.Point(0, 0)],
                                crs="EPSG:31370")

    a = _layer_cache.cached_geoparquet("t", src, {"p": 1}, 1, compute)
    b = _layer_cache.cached_geoparquet("t", src, {"p": 1}, 1, compute)
    assert len(calls) == 1
    pd.testing.assert_frame_equal(a, b)
    entry = _layer_cache.cache_path("t", src, {"p": 1}, 1)
    assert not list(entry.parent.glob("*.tmp"))
    entry.write_bytes(b"not parquet")
    c = _layer_cache.cached_geoparquet("t", src, {"p": 1}, 1, compute)
    assert len(calls) == 2 and c["v"].iloc[0] == 2
    _layer_cache.cached_geoparquet("t", src, {"p": 2}, 1, compute)  # other parameters
    assert len(calls) == 3
    src.write_text("two")  # other content
    _layer_cache.cached_geoparquet("t", src, {"p": 1}, 1, compute)
    assert len(calls) == 4


@pytest.mark.skipif(not TESTBED.is_dir(), reason="real-data test bed not available")
def test_testbed_layers_identical_with_bulk_decoding(monkeypatch):
    from productivecity.area import study_area

    area = study_area("brussels-vilvoorde", data_dir=TESTBED)
    for layer in (osm.industrial_zones, osm.canal):
        fast, slow = _both(monkeypatch, lambda layer=layer: layer(area, data_dir=TESTBED))
        pd.testing.assert_frame_equal(fast[0], slow[0])
        assert vars(fast[1]) == vars(slow[1])
