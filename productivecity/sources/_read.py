"""Read any vector file into a GeoDataFrame with clear errors.

One reader for all loaders: a missing file, an unreadable file, an unknown
layer or a file without CRS each give one error naming the file and what
was expected.
"""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio

from productivecity._errors import CRSError, DataSourceError
from productivecity.crs import check_coordinates, to_crs

logger = logging.getLogger(__name__)

#: Formats whose specification fixes longitude/latitude (RFC 7946 GeoJSON, TopoJSON in practice).
_LONLAT_BY_SPEC = {".geojson", ".json", ".topojson", ".geojsonl", ".geojsons"}


def read_vector(
    path: str | os.PathLike,
    *,
    layer: str | None = None,
    columns: list[str] | None = None,
    where: str | None = None,
    bbox: tuple[float, float, float, float] | None = None,
    crs=None,
) -> gpd.GeoDataFrame:
    """Read a vector file (any GDAL format), optionally projected to ``crs``.

    Parameters
    ----------
    path : path-like
        The file (GeoPackage, Shapefile, GeoJSON, TopoJSON, FlatGeobuf, ...).
    layer : str, optional
        Layer name for multi-layer files; default the first layer.
    columns : list of str, optional
        Attribute columns to read (default all).
    where : str, optional
        OGR SQL WHERE clause applied while reading.
    bbox : tuple, optional
        ``(minx, miny, maxx, maxy)`` in the file's CRS.
    crs : optional
        Project to this CRS (the study area's); default: the file's own.

    A file without CRS is refused, except GeoJSON/TopoJSON whose coordinates
    all lie in longitude/latitude range (those formats are WGS84 by
    specification). So is a file whose coordinates contradict its declared
    CRS (longitude/latitude declared as metres, or the reverse).

    Returns
    -------
    GeoDataFrame
    """
    path = Path(path)
    if not path.exists():
        raise DataSourceError(f"file {path} does not exist")
    if path.is_file() and path.stat().st_size == 0:
        raise DataSourceError(f"file {path} is empty")
    try:
        available = [str(name) for name in pyogrio.list_layers(path)[:, 0]]
    except Exception as exc:  # pyogrio raises DataSourceError / DataLayerError subclasses
        raise DataSourceError(f"could not open {path} as a vector file: {exc}") from exc
    if layer is not None and layer not in available:
        raise DataSourceError(f"{path} has no layer {layer!r}; its layers are {available}")
    try:
        with warnings.catch_warnings():
            # GDAL notes (e.g. GeoPackage user_version) are not the user's concern
            warnings.simplefilter("ignore", RuntimeWarning)
            gdf = gpd.read_file(
                path, layer=layer, columns=columns, where=where, bbox=bbox, engine="pyogrio"
            )
    except Exception as exc:
        raise DataSourceError(
            f"could not read {path} (layer {layer or available[0]!r}): {exc}"
        ) from exc
    if gdf.crs is None:
        if path.suffix.lower() in _LONLAT_BY_SPEC and _looks_lonlat(gdf):
            logger.info(
                "%s declares no CRS; taking longitude/latitude (EPSG:4326) as its "
                "format prescribes",
                path,
            )
            gdf = gdf.set_crs("EPSG:4326")
        else:
            raise CRSError(
                f"{path} has no CRS (no .prj file or CRS metadata); add the CRS its "
                f"coordinates are in (e.g. with ogr2ogr -a_srs EPSG:<code>) or read the file "
                f"yourself and call set_crs()"
            )
    check_coordinates(gdf, what=str(path))
    if crs is not None:
        gdf = to_crs(gdf, crs, what=str(path))
    return gdf


def _looks_lonlat(gdf: gpd.GeoDataFrame) -> bool:
    if gdf.empty:
        return True
    minx, miny, maxx, maxy = gdf.total_bounds
    return bool(np.all(np.isfinite([minx, miny, maxx, maxy]))) and (
        -180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90
    )
