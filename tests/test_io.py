"""Atomic writing and overwrite protection."""

from __future__ import annotations

import geopandas as gpd
import pyogrio
import pytest
import shapely

from productivecity import OutputExistsError
from productivecity.io import write_geopackage


def _layer(n=3):
    return gpd.GeoDataFrame(
        {"v": range(n)}, geometry=[shapely.Point(i, i) for i in range(n)], crs=31370
    )


def test_writes_all_layers(tmp_path):
    out = write_geopackage({"a": _layer(), "b": _layer(5)}, tmp_path / "x.gpkg")
    layers = dict(pyogrio.list_layers(out))
    assert set(layers) == {"a", "b"}
    assert pyogrio.read_info(out, layer="b")["features"] == 5


def test_refuses_to_overwrite(tmp_path):
    out = tmp_path / "x.gpkg"
    write_geopackage({"a": _layer()}, out)
    with pytest.raises(OutputExistsError, match="overwrite"):
        write_geopackage({"a": _layer(1)}, out)
    write_geopackage({"a": _layer(1)}, out, overwrite=True)
    assert pyogrio.read_info(out, layer="a")["features"] == 1


def test_failure_midway_leaves_nothing(tmp_path, monkeypatch):
    """A crash while writing the second layer leaves neither output nor temporary files."""
    out = tmp_path / "x.gpkg"
    calls = []
    original = gpd.GeoDataFrame.to_file

    def flaky(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("disk full")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(gpd.GeoDataFrame, "to_file", flaky)
    with pytest.raises(RuntimeError, match="disk full"):
        write_geopackage({"a": _layer(), "b": _layer()}, out)
    assert list(tmp_path.iterdir()) == []


def test_failure_keeps_previous_output(tmp_path, monkeypatch):
    out = tmp_path / "x.gpkg"
    write_geopackage({"a": _layer(2)}, out)
    monkeypatch.setattr(
        gpd.GeoDataFrame, "to_file", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("boom"))
    )
    with pytest.raises(RuntimeError):
        write_geopackage({"a": _layer(7)}, out, overwrite=True)
    assert pyogrio.read_info(out, layer="a")["features"] == 2
    assert [p.name for p in tmp_path.iterdir()] == ["x.gpkg"]


def test_sqlite_waits_for_the_disk_again_after_the_write(tmp_path):
    import pandas as pd

    pyogrio.set_gdal_config_options({"OGR_SQLITE_SYNCHRONOUS": "NORMAL"})
    try:
        write_geopackage({"a": _layer(), "notes": pd.DataFrame({"x": [1, 2]})},
                         tmp_path / "out.gpkg")
        assert pyogrio.get_gdal_config_option("OGR_SQLITE_SYNCHRONOUS") == "NORMAL"
    finally:
        pyogrio.set_gdal_config_options({"OGR_SQLITE_SYNCHRONOUS": None})
    assert [n for n, _ in pyogrio.list_layers(tmp_path / "out.gpkg")] == ["a", "notes"]
