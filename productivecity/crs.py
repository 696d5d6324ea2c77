"""The coordinate reference system of a study area.

Every run works in one projected CRS in metres, chosen per study area
(:func:`area_crs`): the ``crs`` the user names, else the preset's own (a
region plug-in's, e.g. a national grid), else the CRS of the area file when
it is metric and true to scale at the area (within :data:`MAX_SCALE_ERROR`),
else the UTM zone of the area's centroid. Lengths and areas measured in it
agree with geodesic ones within half a percent; maps drawn in it show north
within a fraction of a degree of "up" (:func:`north_angle_deg` says by how
much).

Nothing here knows any country: a region's national grid comes from its
plug-in (:mod:`productivecity.sources.regions`).
"""

from __future__ import annotations

import functools
import logging

import geopandas as gpd
import numpy as np
import pyproj
import shapely

from productivecity._errors import CRSError

logger = logging.getLogger(__name__)

#: Largest scale error (|k − 1| of lengths, at the area's centroid) a CRS may
#: have to be used for metric work without reprojection (0.5 %).
MAX_SCALE_ERROR = 0.005

_WGS84 = pyproj.CRS.from_epsg(4326)


def as_crs(crs, *, what: str = "crs") -> pyproj.CRS:
    """Return ``crs`` (EPSG code, string, pyproj CRS) as a :class:`pyproj.CRS`.

    Raises
    ------
    CRSError
        ``crs`` is not a CRS pyproj knows.
    """
    if isinstance(crs, pyproj.CRS):
        return crs
    try:
        return pyproj.CRS.from_user_input(crs)
    except pyproj.exceptions.CRSError as exc:
        raise CRSError(f"{what}: {crs!r} is not a coordinate reference system pyproj knows "
                       f"(expected e.g. 'EPSG:3067'): {exc}") from None


def is_metric(crs) -> bool:
    """Return True if ``crs`` is projected with both axes in metres."""
    crs = as_crs(crs)
    return bool(crs.is_projected) and all(
        (a.unit_name or "").lower() in ("metre", "meter", "m") for a in crs.axis_info[:2])


def crs_label(crs) -> str:
    """Return a short label for maps and reports, e.g. ``'EPSG:3067 (ETRS89 / TM35FIN(E,N))'``.

    Examples
    --------
    >>> crs_label("EPSG:32635")
    'EPSG:32635 (WGS 84 / UTM zone 35N)'
    """
    crs = as_crs(crs)
    code = crs.to_authority()
    ident = f"{code[0]}:{code[1]}" if code else "custom CRS"
    return f"{ident} ({crs.name})"


def utm_crs(lon: float, lat: float) -> pyproj.CRS:
    """Return the WGS 84 UTM zone (north or south) of a point in degrees.

    Examples
    --------
    >>> utm_crs(26.95, 60.53).to_epsg(), utm_crs(-46.63, -23.55).to_epsg()
    (32635, 32723)
    """
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise CRSError(f"({lon}, {lat}) is not a longitude/latitude in degrees")
    zone = min(int((lon + 180) // 6) + 1, 60)
    return pyproj.CRS.from_epsg((32600 if lat >= 0 else 32700) + zone)


def scale_error(crs, lon: float, lat: float) -> float:
    """Return the largest |k − 1| of ``crs`` at a point: how far lengths are from true."""
    factors = pyproj.Proj(as_crs(crs)).get_factors(lon, lat)
    return float(max(abs(factors.meridional_scale - 1), abs(factors.parallel_scale - 1)))


def north_angle_deg(crs, lon: float, lat: float) -> float:
    """Return the angle of true north from the map's "up" at a point (degrees, clockwise).

    The meridian convergence of ``crs`` there: near 0 in a CRS centred on the
    area, 17° for Finland drawn in a grid made for Western Europe.
    """
    return float(-pyproj.Proj(as_crs(crs)).get_factors(lon, lat).meridian_convergence)


@functools.lru_cache(maxsize=32)
def to_lonlat_transformer(crs) -> pyproj.Transformer:
    """Return a (cached) transformer from ``crs`` to longitude/latitude (x = lon).

    Building a transformer costs ~20 ms; a run asks for the same few many times.
    """
    return pyproj.Transformer.from_crs(as_crs(crs), _WGS84, always_xy=True)


def lonlat_centroid(gdf: gpd.GeoDataFrame | gpd.GeoSeries) -> tuple[float, float]:
    """Return longitude and latitude of the centre of the bounds of ``gdf`` (any CRS)."""
    if gdf.crs is None:
        raise CRSError("cannot locate data without a CRS")
    xmin, ymin, xmax, ymax = gdf.total_bounds
    lon, lat = to_lonlat_transformer(gdf.crs).transform((xmin + xmax) / 2, (ymin + ymax) / 2)
    return float(lon), float(lat)


def area_crs(area: gpd.GeoDataFrame | gpd.GeoSeries, *, crs=None, preset_crs=None
             ) -> pyproj.CRS:
    """Choose the metric CRS of a study area.

    Parameters
    ----------
    area : GeoDataFrame or GeoSeries
        The area polygon(s) with a CRS.
    crs : optional
        The CRS the user names (wins).
    preset_crs : optional
        The preset's own CRS (next).

    Returns
    -------
    pyproj.CRS
        ``crs``, else ``preset_crs``, else the area's own CRS when metric and
        true to scale within :data:`MAX_SCALE_ERROR` at its centre, else the
        UTM zone of its centre.

    Raises
    ------
    CRSError
        A named CRS that is unknown, not projected in metres, or used far
        outside its area of use.

    Examples
    --------
    >>> import shapely
    >>> karhula = gpd.GeoSeries([shapely.box(26.93, 60.52, 26.97, 60.54)], crs=4326)
    >>> area_crs(karhula).to_epsg(), area_crs(karhula, crs="EPSG:3067").to_epsg()
    (32635, 3067)
    """
    lon, lat = lonlat_centroid(area)
    for chosen, what in ((crs, "the crs you named"), (preset_crs, "the preset's crs")):
        if chosen is None:
            continue
        c = as_crs(chosen, what=what)
        if not is_metric(c):
            raise CRSError(f"{what} {crs_label(c)} is not a projected CRS in metres; name one "
                           f"such as {crs_label(utm_crs(lon, lat))}")
        err = scale_error(c, lon, lat)
        if err > MAX_SCALE_ERROR:
            raise CRSError(f"{what} {crs_label(c)} distorts lengths by {err:.1%} at the study "
                           f"area (lon {lon:.3f}, lat {lat:.3f}); use a CRS made for it, e.g. "
                           f"{crs_label(utm_crs(lon, lat))}")
        return c
    own = area.crs
    if own is not None and is_metric(own) and scale_error(own, lon, lat) <= MAX_SCALE_ERROR:
        return as_crs(own)
    return utm_crs(lon, lat)


def check_coordinates(gdf: gpd.GeoDataFrame | gpd.GeoSeries, *, what: str,
                      area: bool = False) -> None:
    """Refuse coordinates that contradict the declared CRS.

    Metres declared as degrees fall outside ±180/±90; data well outside the
    declared CRS's area of use are refused as well. With ``area`` (a study
    area, which spans more than a few metres), longitude/latitude declared
    as metres (every coordinate within ±180/±90 and a few units of extent in
    a projected CRS) is refused too: such an area lands near the CRS's false
    origin.

    Raises
    ------
    CRSError
        Naming ``what``, the CRS and the bounds, and saying what to do.
    """
    if gdf.crs is None or len(gdf) == 0:
        return
    geoms = np.asarray(gdf.geometry.values if hasattr(gdf, "geometry") else gdf.values)
    geoms = geoms[~shapely.is_empty(geoms) & ~shapely.is_missing(geoms)]
    if not len(geoms):
        return
    xmin, ymin, xmax, ymax = shapely.total_bounds(geoms)
    crs = as_crs(gdf.crs)
    bounds = f"bounds ({xmin:.6g}, {ymin:.6g}, {xmax:.6g}, {ymax:.6g})"
    if crs.is_geographic:
        if xmin < -180.5 or xmax > 360.5 or ymin < -90.5 or ymax > 90.5:
            raise CRSError(f"{what} declares the geographic CRS {crs_label(crs)} but its "
                           f"coordinates are not degrees: {bounds}; they look projected (metres). "
                           f"Declare the CRS they were written in")
        return
    if area and -180 <= xmin and xmax <= 180 and -90 <= ymin and ymax <= 90 and (
            xmax - xmin) < 10 and (ymax - ymin) < 10:
        raise CRSError(f"{what} declares the projected CRS {crs_label(crs)} (metres) but its "
                       f"coordinates look like longitude/latitude: {bounds}. Declare EPSG:4326 "
                       f"(e.g. re-export the file as lon/lat GeoJSON, or gdf.set_crs(4326, "
                       f"allow_override=True))")
    aou = crs.area_of_use
    if aou is None:
        return
    tr = pyproj.Transformer.from_crs(crs, _WGS84, always_xy=True)
    lon, lat = tr.transform((xmin + xmax) / 2, (ymin + ymax) / 2)
    w, s, e, n = aou.bounds
    margin = 10.0  # degrees: national grids are used a little beyond their borders
    inside = (np.isfinite(lon) and np.isfinite(lat) and s - margin <= lat <= n + margin
              and (w - margin <= lon <= e + margin if w <= e
                   else lon >= w - margin or lon <= e + margin))
    if not inside:
        where = (f"lon {lon:.2f}, lat {lat:.2f}" if np.isfinite(lon) and np.isfinite(lat)
                 else "no place on Earth")
        raise CRSError(f"{what}: its coordinates ({bounds}) put it at {where}, far outside the "
                       f"area of use of its declared CRS {crs_label(crs)} ({aou.name}); the file "
                       f"declares the wrong CRS")


def to_crs(gdf, crs, *, what: str):
    """Return ``gdf`` in ``crs``; refuse data without a CRS (never guessed)."""
    if gdf.crs is None:
        raise CRSError(
            f"{what} has no CRS (no .prj / CRS metadata); say which CRS its coordinates are "
            f"in, e.g. gdf.set_crs('EPSG:4326'), or re-export the file with its CRS")
    target = as_crs(crs, what=what)
    if as_crs(gdf.crs).equals(target):
        return gdf
    return gdf.to_crs(target)


def require_metric(gdf, *, what: str, suggest=None) -> pyproj.CRS:
    """Return the CRS of ``gdf``; raise :class:`CRSError` unless projected in metres.

    The message suggests ``suggest`` (e.g. the network's or the study area's
    CRS), else the UTM zone of the data: never a fixed national grid.
    """
    crs = gdf.crs
    if crs is None:
        raise CRSError(f"{what} has no CRS; set the one its coordinates are in first (e.g. "
                       f"gdf.set_crs('EPSG:4326') for longitude/latitude), then project it "
                       f"to the study area's metric CRS")
    if not is_metric(crs):
        if suggest is not None:
            hint = crs_label(suggest)
        else:
            try:
                hint = crs_label(utm_crs(*lonlat_centroid(gdf)))
            except (CRSError, ValueError):
                hint = "the study area's metric CRS"
        kind = "the geographic CRS" if as_crs(crs).is_geographic else "the non-metric CRS"
        raise CRSError(f"{what} is in {kind} {crs_label(crs)}; distances and areas need a "
                       f"projected CRS in metres: use gdf.to_crs({hint.split(' ')[0]!r}) "
                       f"({hint})")
    return as_crs(crs)


def metric_crs_of(gdf, *, what: str) -> pyproj.CRS:
    """Return the CRS to measure ``gdf`` in: its own when true to scale, else its UTM zone.

    Its own CRS is kept when it is projected in metres and within
    :data:`MAX_SCALE_ERROR` of true scale at the data (a national grid, a UTM
    zone); Web Mercator, or a grid made for elsewhere, is replaced by the UTM
    zone of the data.

    Raises
    ------
    CRSError
        ``gdf`` has no CRS (coordinates are never guessed).
    """
    if gdf.crs is None:
        raise CRSError(f"{what} has no CRS; set the one its coordinates are in first (e.g. "
                       f".set_crs('EPSG:4326') for longitude/latitude)")
    if not np.all(np.isfinite(gdf.total_bounds)):  # nothing to locate (empty): keep a metric CRS
        if is_metric(gdf.crs):
            return as_crs(gdf.crs)
        raise CRSError(f"{what} has no geometry to choose a metric CRS from; project it to the "
                       f"study area's CRS first")
    return area_crs(gdf)
