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


def dissolve_overlaps(geoms: np.ndarray) -> np.ndarray:
    """Union the polygons that share interior area; leave the others as they are.

    Overlay sums (area of a site covered by buildings, by zones, ...) count
    an overlap twice unless overlapping polygons are merged first. Only the
    groups of polygons that overlap (or contain one another) are unioned,
    which is much faster than dissolving the whole layer; polygons that
    merely touch (terraced houses) stay apart.

    Parameters
    ----------
    geoms : array of shapely geometries
        Valid polygons (any projected CRS).

    Returns
    -------
    numpy.ndarray
        Polygons with pairwise disjoint interiors; fewer than the input when
        groups were merged. Their total area is the area of the union.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    geoms = np.asarray(geoms, dtype=object)
    n = len(geoms)
    if n < 2:
        return geoms
    tree = shapely.STRtree(geoms)
    i, j = tree.query(geoms, predicate="intersects")
    keep = i < j
    i, j = i[keep], j[keep]
    if len(i):
        shared = ~shapely.touches(geoms[i], geoms[j])
        i, j = i[shared], j[shared]
    if not len(i):
        return geoms
    graph = coo_matrix((np.ones(len(i)), (i, j)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    sizes = np.bincount(labels)
    single = sizes[labels] == 1
    out = list(geoms[single])
    multi = labels[~single]
    members = np.flatnonzero(~single)
    order = np.argsort(multi, kind="stable")
    groups = np.split(members[order], np.flatnonzero(np.diff(multi[order])) + 1)
    out.extend(shapely.union_all(geoms[g]) for g in groups)
    return np.asarray(out, dtype=object)


def overlap_area_m2(geoms: np.ndarray, others: np.ndarray) -> np.ndarray:
    """Area (m²) of each of ``geoms`` covered by ``others``, vectorised.

    Pairs are found with an STRtree, intersected in one call and summed per
    geometry. ``others`` must not overlap each other (see
    :func:`dissolve_overlaps`), or overlaps are counted twice.

    Parameters
    ----------
    geoms, others : arrays of shapely geometries
        In the same projected CRS (metres).

    Returns
    -------
    numpy.ndarray of float
        One value per geometry in ``geoms``, square metres; 0 where nothing
        overlaps (also for empty or missing geometries).
    """
    geoms = np.asarray(geoms, dtype=object)
    others = np.asarray(others, dtype=object)
    out = np.zeros(len(geoms))
    if not len(geoms) or not len(others):
        return out
    tree = shapely.STRtree(others)
    i, j = tree.query(geoms, predicate="intersects")
    if not len(i):
        return out
    # a part lying wholly inside the geometry needs no intersection
    inside = shapely.contains_properly(geoms[i], others[j])
    a = np.empty(len(i))
    a[inside] = shapely.area(others[j[inside]])
    cut = ~inside
    a[cut] = shapely.area(shapely.intersection(geoms[i[cut]], others[j[cut]]))
    return np.bincount(i, weights=a, minlength=len(geoms))
