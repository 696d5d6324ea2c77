"""Geometry helpers shared by loaders: repair, clip to the study area, areas."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

from productivecity._validate import check_projected

_POLYGONAL = ("Polygon", "MultiPolygon")


def repair_geometries(gdf: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, int]:
    """Repair invalid geometries with ``make_valid``; return the copy and the count.

    A repaired polygon keeps only its polygonal parts (``make_valid`` can add
    stray lines or points); a repaired line keeps its linear parts.
    """
    geoms = gdf.geometry.values
    invalid = ~shapely.is_valid(geoms) & ~shapely.is_missing(geoms)
    n = int(invalid.sum())
    if not n:
        return gdf, 0
    out = gdf.copy()
    fixed = shapely.make_valid(np.asarray(geoms[invalid]))
    originals = np.asarray(geoms[invalid])
    keep_types = []
    for orig, new in zip(originals, fixed, strict=True):
        if orig.geom_type in _POLYGONAL:
            keep_types.append(_extract(new, (3, 6)))
        elif orig.geom_type in ("LineString", "MultiLineString", "LinearRing"):
            keep_types.append(_extract(new, (1, 5)))
        else:
            keep_types.append(new)
    out.loc[invalid, out.geometry.name] = keep_types
    return out, n


def _extract(geom, type_ids):
    """Keep the parts of ``geom`` whose shapely type id is in ``type_ids``."""
    if shapely.get_type_id(geom) in type_ids:
        return geom
    parts = [p for p in shapely.get_parts(geom) if shapely.get_type_id(p) in type_ids]
    if not parts:
        return None
    return shapely.union_all(parts)


def clip_to_area(
    gdf: gpd.GeoDataFrame, area: gpd.GeoDataFrame | gpd.GeoSeries, *, clip: bool = False
) -> tuple[gpd.GeoDataFrame, int]:
    """Keep features that intersect ``area``; return them and the count left out.

    With ``clip=True`` geometries are also cut at the area's edge (used for
    lines such as the canal); otherwise a zone that crosses the border is
    kept whole.
    """
    check_projected(gdf, what="layer")
    poly = shapely.union_all(np.asarray(area.geometry.values))
    shapely.prepare(poly)
    inside = shapely.intersects(poly, np.asarray(gdf.geometry.values))
    kept = gdf.loc[inside]
    if clip and len(kept):
        kept = kept.copy()
        kept[kept.geometry.name] = shapely.intersection(np.asarray(kept.geometry.values), poly)
        kept = kept.loc[~kept.geometry.is_empty]
    return kept, int((~inside).sum())


def area_ha(geoms: gpd.GeoSeries) -> np.ndarray:
    """Area in hectares of projected geometries."""
    check_projected(geoms, what="geometries")
    return geoms.area.to_numpy() / 10_000.0


def length_km(geoms: gpd.GeoSeries) -> np.ndarray:
    """Length in kilometres of projected geometries."""
    check_projected(geoms, what="geometries")
    return geoms.length.to_numpy() / 1_000.0
