"""OpenStreetMap layers: industrial zones, the canal, points of interest, buildings.

Every layer can come from four kinds of source, all reduced to one
intermediate *tagged frame* (one row per OSM object with its tags as
columns) before the layer is built, so the rules that pick and classify
features are the same whatever the source:

1. a PMTiles archive of OSM vector tiles (tile fragments are reassembled by
   ``mvt_id``, see :mod:`productivecity.sources.pmtiles`);
2. a raw OSM file, PBF or XML, read with GDAL's OSM driver
   (:func:`read_osm_file`; the tags that osmconf.ini does not turn into
   columns are parsed from ``other_tags``);
3. any other vector file with a ``kind`` column (and ``name``);
4. online, Overpass through ``osmnx.features_from_polygon``, cached on disk
   by request (:func:`productivecity._online.cached_frame`).

Source choice, per layer. An explicit ``source=`` file wins. With
``online=True`` the layer comes from Overpass (or the cache); offline, a cache
miss falls back to local files. Otherwise the data directory is searched in
this order: PMTiles (``osm/**/<layer>.pmtiles``, newest data) → OSM PBF →
OSM XML. When the first source found has none of a requested kind (e.g. no
``leisure=hackerspace`` in the 2026 POI tiles) and a later local source has
some, that kind is taken from the later source; the report's ``notes`` say
which kind came from which file. The layer's report lists every file read.

All layers are returned in the study area's metric CRS together with a
:class:`~productivecity.sources.load_report.LayerReport`. Buildings come with a separate
estimate of where the layer is complete, :func:`buildings_coverage`.
"""

from __future__ import annotations

import functools
import logging
import os
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from productivecity import _online
from productivecity._errors import (
    AreaError,
    ConfigError,
    CRSError,
    DataSourceError,
    EmptyLayerError,
    ParameterError,
    ParameterTypeError,
    SchemaError,
    SourceNotFoundError,
)
from productivecity._geom import area_ha, clip_to_area, length_km, repair_geometries
from productivecity.crs import metric_crs_of, to_crs
from productivecity.settings import Settings, get_settings
from productivecity.sources import _osm_cut
from productivecity.sources._read import read_vector
from productivecity.sources.catalog import DataDir, missing_message
from productivecity.sources.load_report import OSM_CREDIT, LayerReport, file_credit
from productivecity.sources.pmtiles import pmtiles_info, read_pmtiles_with_stats

logger = logging.getLogger(__name__)

__all__ = [
    "POI_KINDS",
    "RESIDENTIAL_BUILDINGS",
    "buildings",
    "buildings_coverage",
    "canal",
    "canal_zone",
    "industrial_zones",
    "parse_other_tags",
    "poi",
    "read_osm_file",
]

#: Tags = osmnx-style filter: key -> True (any value), a value, or a list of values.
Tags = Mapping[str, "bool | str | list[str]"]

#: POI kinds in order of precedence (a feature gets the first kind whose rule matches).
POI_KINDS = (
    "vacant_shop", "hackerspace", "makerspace", "craft", "school", "college", "disused",
)

_POI_TAGS: dict[str, bool | list[str]] = {
    "shop": ["vacant"],
    "craft": True,
    "leisure": ["hackerspace", "makerspace"],
    "amenity": ["school", "college", "makerspace", "fablab"],
    "disused:shop": True,
    "disused:amenity": True,
    "disused:craft": True,
    "disused:office": True,
    "abandoned:shop": True,
    "abandoned:amenity": True,
}
_CANAL_TAGS: dict[str, list[str]] = {"waterway": ["canal"], "water": ["canal"]}
#: Tags read with the canal to decide what is the navigable canal (see :func:`canal`).
_CANAL_EVIDENCE_KEYS = ("name:nl", "name:fr", "boat", "motorboat", "ship", "CEMT", "width",
                        "usage", "tunnel", "culvert", "covered", "location", "layer")
#: ``boat``/``motorboat``/``ship`` values that say boats may use the waterway.
_CANAL_BOAT_YES = ("yes", "designated", "permissive", "destination")
#: ``usage`` values of a waterway used for navigation / for water management only.
_CANAL_USAGE_NAVIGATION = ("transportation", "waterway", "navigation")
_CANAL_USAGE_WATER_ONLY = ("spillway", "headrace", "tailrace", "irrigation", "water_supply",
                           "drainage")
#: A canal at least this wide (``width=*``, metres) is taken as navigable.
CANAL_MIN_WIDTH_M = 10.0
#: A connected run of canal lines without other evidence at least this long is navigable.
CANAL_MIN_CONNECTED_KM = 5.0
#: Share of a canal line's length inside canal water areas for it to count as in the canal.
_CANAL_IN_WATER_SHARE = 0.5
_DISUSED_KEYS = ("disused:shop", "disused:amenity", "disused:craft", "disused:office",
                 "abandoned:shop", "abandoned:amenity")
_ACTIVE_KEYS = ("shop", "amenity", "craft", "office")

#: GDAL OSM layers searched per geometry family.
_OSM_LAYERS = {"polygon": ("multipolygons",), "line": ("lines",), "point": ("points",)}
#: Tags and geometry family of building footprints (:func:`buildings`).
BUILDING_TAGS = {"building": True}
_BUILDINGS_FAMILY = "polygon"
#: Tags of the land whose plain ``building=yes`` buildings count as residential.
RESIDENTIAL_LAND_TAGS = {"landuse": ["residential"]}
_OSM_ELEMENT_LETTER = {"node": "n", "way": "w", "relation": "r"}

#: DataDir source kinds per layer, in order of preference.
_LOCAL_KINDS = {
    "industrial_zones": ("osm_pmtiles_landuse", "osm_pbf", "osm_xml"),
    "canal": ("osm_pmtiles_water", "osm_pbf", "osm_xml"),
    "poi": ("osm_pmtiles_poi", "osm_pbf", "osm_xml"),
    "buildings": ("osm_pmtiles_buildings", "osm_pbf", "osm_xml"),
    "residential_land": ("osm_pmtiles_landuse", "osm_pbf", "osm_xml"),
    "open_land": ("osm_pmtiles_landuse", "osm_pmtiles_green", "osm_pmtiles_water", "osm_pbf",
                  "osm_xml"),
}

#: Kinds of :func:`open_land` and the OSM tags that make them.
OPEN_LAND_TAGS = {
    "park": {"leisure": ["park", "garden", "nature_reserve"]},
    "wood": {"landuse": ["forest"], "natural": ["wood", "scrub"]},
    "grass": {"landuse": ["grass", "meadow", "village_green", "recreation_ground"],
              "natural": ["grassland"]},
    "water": {"natural": ["water"], "waterway": ["riverbank", "dock"]},
    "cemetery": {"landuse": ["cemetery"], "amenity": ["grave_yard"]},
    "allotments": {"landuse": ["allotments"]},
    "residential": {"landuse": ["residential"]},
}

#: ``building=*`` values taken as residential (plus ``building=yes`` on residential land).
RESIDENTIAL_BUILDINGS = (
    "house", "residential", "apartments", "detached", "semidetached_house", "terrace",
    "dormitory", "bungalow",
)


# --------------------------------------------------------------------------------------
# public layers
# --------------------------------------------------------------------------------------


def industrial_zones(
    area: gpd.GeoDataFrame | gpd.GeoSeries,
    *,
    data_dir: str | os.PathLike | DataDir | None = None,
    source: str | os.PathLike | None = None,
    online: bool = False,
    settings: Settings | None = None,
    kinds: tuple[str, ...] = ("industrial", "brownfield"),
) -> tuple[gpd.GeoDataFrame, LayerReport]:
    """Industrial and brownfield land (OSM ``landuse=*``) intersecting the study area.

    Parameters
    ----------
    area : GeoDataFrame or GeoSeries
        Study-area polygon(s), any CRS (projected here).
    data_dir : path-like or DataDir, optional
        Data directory searched for ``osm/**/landuse.pmtiles``, then an OSM
        PBF, then an OSM XML file.
    source : path-like, optional
        One file to read instead: ``.pmtiles``, ``.osm.pbf``/``.pbf``,
        ``.osm``, or any vector file with a ``kind`` (or ``landuse``) column.
    online : bool, default False
        Fetch through Overpass (osmnx), cached on disk by request.
    settings : Settings, optional
        Cache folder, offline flag, Overpass endpoint.
    kinds : tuple of str
        ``landuse`` values to keep.

    Returns
    -------
    zones : GeoDataFrame
        In the area's CRS, index ``zone_id`` (``"mvt-<id>"``, ``"osm-w<id>"``,
        ``"osm-r<id>"`` or ``"file-<row>"``); columns ``kind`` (str),
        ``name`` (str or None), ``osm_id`` (``"way/123"``, None for tiles),
        ``area_ha`` (float, hectares), ``geometry`` (Polygon/MultiPolygon).
        Zones crossing the area's border are kept whole.
    report : LayerReport

    Raises
    ------
    DataSourceError
        No source, or a missing/unreadable file.
    CRSError
        A vector file or the area without CRS.
    SchemaError
        A vector file without a ``kind``/``landuse`` column.
    EmptyLayerError
        No zone of ``kinds`` intersects the area.
    """
    kinds = _check_kinds(kinds, "industrial_zones")
    tags = {"landuse": list(kinds)}
    spec = _LayerSpec("industrial_zones", tags, "polygon", kinds,
                      lambda t: _classify_landuse(t, kinds), kind_column=("kind", "landuse"))
    frame, report, area_poly = _load(spec, area, data_dir=data_dir, source=source,
                                     online=online, settings=settings)
    frame, outside = clip_to_area(frame, area_poly)
    report.outside_area_n += outside
    _require_features(frame, spec, area_poly, report)
    out = gpd.GeoDataFrame(
        {"kind": frame["kind"].to_numpy(), "name": frame["name"].to_numpy(),
         "osm_id": frame["osm_id"].to_numpy()},
        geometry=frame.geometry.to_numpy(), crs=frame.crs,
        index=pd.Index(frame["feature_id"].to_numpy(), name="zone_id"),
    )
    out["area_ha"] = area_ha(out.geometry)
    out = out[["kind", "name", "osm_id", "area_ha", "geometry"]].sort_index()
    return _finish(out, report)


def canal(
    area: gpd.GeoDataFrame | gpd.GeoSeries,
    *,
    data_dir: str | os.PathLike | DataDir | None = None,
    source: str | os.PathLike | None = None,
    online: bool = False,
    settings: Settings | None = None,
    clip: bool = True,
    names: Sequence[str] | None = None,
) -> tuple[gpd.GeoDataFrame, LayerReport]:
    """Return the navigable canal: its centre lines and water areas, cut to the area.

    OSM tags ``waterway=canal`` on many watercourses that no boat uses (a
    river's covered course, spillways, ditches). The layer keeps only the
    navigable canal, decided per feature from its tags and geometry; every
    feature left out is counted in the report by reason, and the notes name
    the left-out waterways with their length.

    Centre lines (``waterway=canal``), in this order:

    1. covered or culverted watercourses never count: ``tunnel=culvert``,
       ``culvert=*`` other than ``no``, ``covered=yes``,
       ``location=underground``, and any other ``tunnel=*`` but ``no``
       unless the way itself says boats use it (``boat``/``motorboat``/
       ``ship`` allowed or a ``CEMT`` class: a navigable canal tunnel);
    2. with ``names``, a line is kept when its ``name``, ``name:nl`` or
       ``name:fr`` is one of them (case-insensitive), whatever its other
       tags: the scenario's choice;
    3. otherwise, a line tagged as not for boats (``boat=no`` without
       ``motorboat``/``ship`` allowed, or ``usage`` = spillway, headrace,
       tailrace, irrigation, water_supply, drainage) is left out;
    4. a line is kept on evidence of navigation: ``boat``/``motorboat``/
       ``ship`` = yes|designated|permissive|destination, a ``CEMT`` class,
       ``usage=transportation``, ``width`` >= :data:`CANAL_MIN_WIDTH_M`;
       or at least half its length inside canal water areas; or the name
       of a line kept on such evidence; or being part of a connected run
       of otherwise unproven canal lines at least
       :data:`CANAL_MIN_CONNECTED_KM` long.

    Canal water areas (polygons tagged ``water=canal`` or
    ``waterway=canal``): covered ones never count; the others are kept
    when a kept centre line runs through them. Lines tagged only
    ``water=canal`` are the outlines of water polygons and are left out
    (counted). Unnamed water polygons take the name of the named canal line
    running through them (counted in the notes). A user's vector ``source``
    carries no OSM tags: all its features are taken as the canal (``names``
    still applies to its lines).

    Parameters
    ----------
    area : GeoDataFrame or GeoSeries
        Study-area polygon(s), any CRS.
    data_dir, source, online, settings
        As in :func:`industrial_zones`; the PMTiles file is
        ``osm/**/water.pmtiles``. A vector ``source`` needs no special
        column: every line is a ``waterway`` and every polygon ``water``.
    clip : bool, default True
        Cut features at the area's border, so lengths and areas are those
        inside the study area (the canal runs on beyond any study area).
        With False, features intersecting the area are kept whole.
    names : sequence of str, optional
        The waterways to use, by name (e.g. ``["Grand Union Canal"]``),
        matched case-insensitively on ``name``, ``name:nl`` and ``name:fr``.
        Default: the navigable canal found by the rules above.

    Returns
    -------
    canal : GeoDataFrame
        In the area's CRS, index ``canal_id``; columns ``feature`` (``"waterway"``
        for lines, ``"water"`` for polygons), ``name``, ``osm_id``,
        ``length_km`` (lines, kilometres; NaN for polygons), ``area_ha``
        (polygons, hectares; NaN for lines), ``geometry``.
    report : LayerReport

    Raises
    ------
    ConfigError
        A name in ``names`` matches no canal line in the data (the message
        lists the canal names found).
    """
    names = _check_canal_names(names)
    spec = _LayerSpec("canal", _CANAL_TAGS, "line+polygon", ("waterway", "water"),
                      _classify_canal, kind_column=None, carry=_CANAL_EVIDENCE_KEYS)
    frame, report, area_poly = _load(spec, area, data_dir=data_dir, source=source,
                                     online=online, settings=settings)
    frame = _navigable_canal(frame, report, names)
    frame, outside = clip_to_area(frame, area_poly, clip=clip)
    report.outside_area_n += outside
    if clip and len(frame):
        # cutting can leave points or a polygon's stray line; keep each feature's own family
        frame = frame.copy()
        frame[frame.geometry.name] = [
            _family_part(g, "line" if k == "waterway" else "polygon")
            for g, k in zip(frame.geometry, frame["kind"], strict=True)
        ]
        empty = frame.geometry.isna() | frame.geometry.is_empty
        report.skip("touch the area only at a point", int(empty.sum()))
        frame = frame.loc[~empty]
    _require_features(frame, spec, area_poly, report)
    out = gpd.GeoDataFrame(
        {"feature": frame["kind"].to_numpy(), "name": frame["name"].to_numpy(),
         "osm_id": frame["osm_id"].to_numpy()},
        geometry=frame.geometry.to_numpy(), crs=frame.crs,
        index=pd.Index(frame["feature_id"].to_numpy(), name="canal_id"),
    )
    is_line = out["feature"].eq("waterway").to_numpy()
    out["length_km"] = np.where(is_line, length_km(out.geometry), np.nan)
    out["area_ha"] = np.where(~is_line, area_ha(out.geometry), np.nan)
    out = _fill_water_names(out, report)
    out = out[["feature", "name", "osm_id", "length_km", "area_ha", "geometry"]].sort_index()
    return _finish(out, report)


def canal_zone(
    canal_gdf: gpd.GeoDataFrame | gpd.GeoSeries,
    *,
    distance_m: float = 500,
    area: gpd.GeoDataFrame | gpd.GeoSeries | None = None,
) -> tuple[gpd.GeoDataFrame, LayerReport]:
    """Return the canal zone: all within ``distance_m`` metres of the canal, dissolved.

    Parameters
    ----------
    canal_gdf : GeoDataFrame or GeoSeries
        The canal (e.g. from :func:`canal`), in a projected CRS or any CRS
        with a CRS.
    distance_m : float, default 500
        Buffer distance in metres (> 0).
    area : GeoDataFrame or GeoSeries, optional
        If given, the zone is cut to this area.

    Returns
    -------
    zone : GeoDataFrame
        One row, index ``zone`` = ``"canal_zone"``; columns ``distance_m``
        (float, metres), ``area_ha`` (float, hectares), ``geometry``
        (Polygon/MultiPolygon, the area's CRS).
    report : LayerReport

    Raises
    ------
    ParameterError
        (a ``ValueError``) ``distance_m`` not a positive finite number.
    EmptyLayerError
        ``canal_gdf`` has no geometry, or the zone misses ``area``.
    """
    try:
        dist = float(distance_m)
    except (TypeError, ValueError):
        raise ParameterError(f"distance_m must be a number of metres, "
                             f"got {distance_m!r}") from None
    if not np.isfinite(dist) or dist <= 0:
        raise ParameterError(f"distance_m must be a positive number of metres, "
                             f"got {distance_m!r}")
    report = LayerReport("canal_zone", notes=[f"buffer of {dist:g} m around the canal"])
    canal_f = _as_frame(canal_gdf, what="canal_gdf")
    crs = metric_crs_of(area if area is not None else canal_f, what="area")
    canal_p = to_crs(canal_f, crs, what="canal_gdf")
    geoms = canal_p.geometry[canal_p.geometry.notna() & ~canal_p.geometry.is_empty]
    report.read_n = len(canal_p)
    report.skip("empty geometry", len(canal_p) - len(geoms))
    if geoms.empty:
        raise EmptyLayerError("canal_zone: the canal layer given has no geometry to buffer")
    zone = shapely.union_all(shapely.buffer(np.asarray(geoms.values), dist))
    if area is not None:
        poly, desc = _area_polygon(area)
        zone = shapely.intersection(zone, poly)
        if zone.is_empty:
            raise EmptyLayerError(f"canal_zone: the {dist:g} m canal zone does not reach area "
                                  f"{desc}")
        zone = _family_part(zone, "polygon")
    out = gpd.GeoDataFrame({"distance_m": [dist]}, geometry=[zone], crs=crs,
                           index=pd.Index(["canal_zone"], name="zone"))
    out["area_ha"] = area_ha(out.geometry)
    out = out[["distance_m", "area_ha", "geometry"]]
    return _finish(out, report)


def poi(
    area: gpd.GeoDataFrame | gpd.GeoSeries,
    *,
    data_dir: str | os.PathLike | DataDir | None = None,
    source: str | os.PathLike | None = None,
    online: bool = False,
    settings: Settings | None = None,
) -> tuple[gpd.GeoDataFrame, LayerReport]:
    """Points of interest for maker-learning hubs: vacancy proxies, crafts, makers, schools.

    Kinds (first matching rule wins, in this order): ``vacant_shop``
    (``shop=vacant``), ``hackerspace`` (``leisure=hackerspace``),
    ``makerspace`` (``leisure=makerspace``, ``amenity=makerspace|fablab``),
    ``craft`` (``craft=*``), ``school`` (``amenity=school``), ``college``
    (``amenity=college``), ``disused`` (a ``disused:``/``abandoned:`` shop,
    amenity, craft or office with no active shop/amenity/craft/office: a
    vacancy proxy). Polygons (e.g. school grounds) become their
    representative point; the number is in the report notes.

    Parameters
    ----------
    area : GeoDataFrame or GeoSeries
        Study-area polygon(s), any CRS.
    data_dir, source, online, settings
        As in :func:`industrial_zones`; the PMTiles file is
        ``osm/**/poi.pmtiles``. A vector ``source`` needs a ``kind`` column
        with the kinds above.

    Returns
    -------
    poi : GeoDataFrame
        In the area's CRS, index ``poi_id``; columns ``kind``, ``tag`` (the tag
        that decided the kind, e.g. ``"craft=carpenter"``), ``name``,
        ``osm_id``, ``source`` (file or ``"overpass"`` the feature came
        from; sources may differ by kind), ``geometry`` (Point).
    report : LayerReport
    """
    spec = _LayerSpec("poi", _POI_TAGS, "point+polygon", POI_KINDS, _classify_poi,
                      kind_column=("kind",))
    frame, report, area_poly = _load(spec, area, data_dir=data_dir, source=source,
                                     online=online, settings=settings)
    frame = frame.copy()
    geoms = np.asarray(frame.geometry.values)
    single = (shapely.get_type_id(geoms) == 4) & (shapely.get_num_geometries(geoms) == 1)
    if single.any():  # vector tiles store points as one-point MultiPoints
        frame.loc[single, frame.geometry.name] = shapely.get_geometry(geoms[single], 0)
    not_point = ~frame.geom_type.isin(["Point"]) & frame.geometry.notna()
    if not_point.any():
        frame.loc[not_point, frame.geometry.name] = shapely.point_on_surface(
            np.asarray(frame.geometry[not_point].values))
        report.notes.append(f"{int(not_point.sum())} polygon/line features reduced to a "
                            f"representative point")
    frame, outside = clip_to_area(frame, area_poly)
    report.outside_area_n += outside
    _require_features(frame, spec, area_poly, report)
    out = gpd.GeoDataFrame(
        {"kind": frame["kind"].to_numpy(), "tag": frame["tag"].to_numpy(),
         "name": frame["name"].to_numpy(), "osm_id": frame["osm_id"].to_numpy(),
         "source": frame["source"].to_numpy()},
        geometry=frame.geometry.to_numpy(), crs=frame.crs,
        index=pd.Index(frame["feature_id"].to_numpy(), name="poi_id"),
    )
    out = out.sort_values(["kind"], kind="stable")
    return _finish(out, report)


def open_land(
    area: gpd.GeoDataFrame | gpd.GeoSeries,
    *,
    data_dir: str | os.PathLike | DataDir | None = None,
    source: str | os.PathLike | None = None,
    online: bool = False,
    settings: Settings | None = None,
) -> tuple[gpd.GeoDataFrame, LayerReport]:
    """Land that should not host a workshop: parks, woods, grass, water, cemeteries, housing.

    Used to exclude candidate sites (``open_land_share_pct``). Kinds and tags are in
    :data:`OPEN_LAND_TAGS`. In a data directory with vector tiles, ``landuse``, ``green``
    and ``water`` tiles are combined (they hold different features); otherwise an OSM
    PBF, then an OSM XML file serves.

    Returns
    -------
    land : GeoDataFrame
        In the area's CRS, index ``land_id``; columns ``kind`` (see :data:`OPEN_LAND_TAGS`),
        ``tag`` (e.g. ``"leisure=park"``), ``name``, ``area_ha``; polygons.
    report : LayerReport
    """
    kinds = tuple(OPEN_LAND_TAGS)
    spec = _LayerSpec("open_land", _open_land_tags(), "polygon", kinds, _classify_open_land,
                      kind_column=("kind",))
    dd = _data_dir(data_dir)
    tiles = [p for p in _local_candidates("open_land", dd) if p.suffix == ".pmtiles"]
    if source is None and not online and len(tiles) > 1:
        # vector-tile layers hold different features (landuse, green, water): combine them
        parts, report = [], LayerReport("open_land")
        for path in tiles:
            frame, sub, area_poly = _load(spec, area, data_dir=None, source=path,
                                          online=False, settings=settings)
            report.absorb(sub)
            report.notes.append(f"from {path.name}: "
                                + (", ".join(sorted(set(frame["kind"]))) or "nothing"))
            # tile ids are per archive: prefix them with the archive's name to keep them unique
            parts.append(frame.assign(feature_id=path.stem + ":" + frame["feature_id"]))
        frame = gpd.GeoDataFrame(pd.concat(parts), crs=parts[0].crs)
    else:
        frame, report, area_poly = _load(spec, area, data_dir=data_dir, source=source,
                                         online=online, settings=settings)
    frame, outside = clip_to_area(frame, area_poly)
    report.outside_area_n += outside
    _require_features(frame, spec, area_poly, report)
    out = gpd.GeoDataFrame(
        {"kind": frame["kind"].to_numpy(), "tag": frame["tag"].to_numpy(),
         "name": frame["name"].to_numpy()},
        geometry=frame.geometry.to_numpy(), crs=frame.crs,
        index=pd.Index(frame["feature_id"].to_numpy(), name="land_id"),
    )
    out = out.loc[~out.index.duplicated()]
    out["area_ha"] = area_ha(out.geometry)
    return _finish(out.sort_index(), report)


def cache_osm_buildings(path: str | os.PathLike) -> None:
    """Decode the building footprints and the land of an OSM PBF/XML file into the layer cache.

    What :func:`buildings` (footprints, ``landuse=residential``) and
    :func:`open_land` read from such a file, so that a later call (e.g. in
    another process) finds it decoded.
    """
    for tags in (BUILDING_TAGS, RESIDENTIAL_LAND_TAGS, _open_land_tags()):
        for layer in _OSM_LAYERS[_BUILDINGS_FAMILY]:
            read_osm_file(path, geometry=layer, tags=tags)


def buildings(
    area: gpd.GeoDataFrame | gpd.GeoSeries,
    *,
    data_dir: str | os.PathLike | DataDir | None = None,
    source: str | os.PathLike | None = None,
    online: bool = False,
    settings: Settings | None = None,
) -> tuple[gpd.GeoDataFrame, LayerReport]:
    """Return building footprints (OSM ``building=*`` polygons) intersecting the study area.

    ``residential`` is a simple, documented proxy: a building is residential
    when its ``building`` value is one of :data:`RESIDENTIAL_BUILDINGS`, or
    when it is plain ``building=yes`` and its representative point lies on
    ``landuse=residential`` land. That land is read from the buildings' own
    OSM file (PBF/XML, same date), else from the data directory's landuse
    sources (``landuse.pmtiles`` → PBF → XML), else from Overpass when
    ``online``; the report notes which. Without any such source only the
    tag values count (noted). ``building=no`` is left out (counted).

    Where the layer is complete is a separate question: see
    :func:`buildings_coverage`.

    Parameters
    ----------
    area : GeoDataFrame or GeoSeries
        Study-area polygon(s), any CRS.
    data_dir : path-like or DataDir, optional
        Searched for ``osm/**/buildings.pmtiles``, then an OSM PBF, then an
        OSM XML file.
    source : path-like, optional
        One file instead: ``.pmtiles``, ``.osm.pbf``/``.pbf``, ``.osm``, or
        any polygon vector file (a ``building`` column is used when present,
        else every polygon is ``building=yes``).
    online : bool, default False
        Fetch ``building=*`` through Overpass (osmnx), cached on disk.
    settings : Settings, optional
        Cache folder, offline flag, Overpass endpoint.

    Returns
    -------
    buildings : GeoDataFrame
        In the area's CRS, index ``building_id`` (``"osm-w<id>"``, ``"osm-r<id>"``,
        ``"mvt-<id>"`` or ``"file-<row>"``); columns ``building`` (the tag
        value, str), ``residential`` (bool), ``footprint_m2`` (float, square
        metres of the whole footprint), ``osm_id`` (``"way/123"``; None for
        tiles and files), ``geometry`` (Polygon/MultiPolygon). Buildings
        crossing the area's border are kept whole.
    report : LayerReport

    Raises
    ------
    DataSourceError
        No source, or a missing/unreadable file.
    CRSError
        A vector file or the area without CRS.
    EmptyLayerError
        No building intersects the area.
    """
    spec = _LayerSpec("buildings", BUILDING_TAGS, _BUILDINGS_FAMILY, ("building",),
                      _classify_building, kind_column=None)
    if source is not None and not Path(source).name.lower().endswith(
            (".pmtiles", ".pbf", ".osm")):
        area_poly, area_desc = _area_polygon(area)
        area_gs = gpd.GeoSeries([area_poly], crs=metric_crs_of(area, what="area"))
        area_gs.attrs["description"] = area_desc
        report = LayerReport("buildings")
        frame = to_crs(_buildings_from_vector(Path(source), report), area_gs.crs,
                       what=str(source))
    else:
        frame, report, area_gs = _load(spec, area, data_dir=data_dir, source=source,
                                       online=online, settings=settings)
    frame, outside = clip_to_area(frame, area_gs)
    report.outside_area_n += outside
    _require_features(frame, spec, area_gs, report)
    value = frame["tag"].str.removeprefix("building=").to_numpy(dtype=object)
    residential = np.isin(value, RESIDENTIAL_BUILDINGS)
    plain = value == "yes"
    land, land_note = _residential_land(area_gs, frame, source=source, data_dir=data_dir,
                                        online=online, settings=settings)
    if land is not None and plain.any():
        tree = shapely.STRtree(land)
        pts = shapely.point_on_surface(np.asarray(frame.geometry.values)[plain])
        hit = np.unique(tree.query(pts, predicate="within")[0])
        on_land = np.zeros(int(plain.sum()), dtype=bool)
        on_land[hit] = True
        residential[np.flatnonzero(plain)[on_land]] = True
        land_note += f"; {int(on_land.sum())} of {int(plain.sum())} building=yes on it"
    report.notes.append(land_note)
    report.notes.append(f"{int(residential.sum())} residential buildings "
                        f"(building in {list(RESIDENTIAL_BUILDINGS)}, or building=yes on "
                        f"landuse=residential)")
    out = gpd.GeoDataFrame(
        {"building": value, "residential": residential,
         "osm_id": frame["osm_id"].to_numpy()},
        geometry=frame.geometry.to_numpy(), crs=frame.crs,
        index=pd.Index(frame["feature_id"].to_numpy(), name="building_id"),
    )
    out["footprint_m2"] = out.geometry.area.to_numpy()
    out = out[["building", "residential", "footprint_m2", "osm_id", "geometry"]].sort_index()
    return _finish(out, report)


def buildings_coverage(
    buildings_gdf: gpd.GeoDataFrame | gpd.GeoSeries,
    *,
    area: gpd.GeoDataFrame | gpd.GeoSeries | None = None,
    distance_m: float = 500.0,
) -> tuple[gpd.GeoDataFrame, LayerReport]:
    """Where a buildings layer demonstrably has data: its mapped extent, derived from itself.

    OSM extracts end at a border (the 2013 Brussels PBF stops at the region's
    edge), and OSM building mapping was patchy in places: beyond the mapped
    extent "no building" means "no data", not "no building". This estimates
    the extent from the buildings themselves:

    1. every building's representative point marks its ``distance_m / 2``
       lattice cell;
    2. the marked cells are closed morphologically (grown by ``distance_m``,
       then shrunk by it, with square corners), which joins areas whose
       built parts are less than ``2 × distance_m`` apart (streets, squares,
       small parks);
    3. holes are filled (a park enclosed by mapped buildings is covered);
    4. the result is cut to ``area`` when given.

    Large building-free land at the edge of the data (e.g. a forest on the
    border) falls outside; when the true extent of the source is known
    (the extract's clipping polygon), use that instead.

    Parameters
    ----------
    buildings_gdf : GeoDataFrame or GeoSeries
        Building footprints (e.g. :func:`buildings`), any CRS.
    area : GeoDataFrame or GeoSeries, optional
        Study area to cut the coverage to.
    distance_m : float, default 500
        Closing distance in metres (> 0).

    Returns
    -------
    coverage : GeoDataFrame
        One row, index ``coverage`` = ``"buildings"``; columns
        ``distance_m`` (m), ``area_ha`` (ha), ``geometry``
        (Polygon/MultiPolygon, the area's CRS; empty if there are no buildings).
    report : LayerReport
        ``read_n`` = buildings used; notes give the covered share of ``area``.

    Raises
    ------
    ParameterError
        (a ``ValueError``) ``distance_m`` not a positive number.
    CRSError
        Input without CRS.
    """
    try:
        dist = float(distance_m)
    except (TypeError, ValueError):
        raise ParameterError(f"distance_m must be a number of metres, "
                             f"got {distance_m!r}") from None
    if not np.isfinite(dist) or dist <= 0:
        raise ParameterError(f"distance_m must be a positive number of metres, "
                             f"got {distance_m!r}")
    b = _as_frame(buildings_gdf, what="buildings")
    b = to_crs(b, metric_crs_of(area if area is not None else b, what="area"), what="buildings")
    geoms = np.asarray(b.geometry.values)
    geoms = geoms[~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)]
    report = LayerReport("buildings_coverage", read_n=len(geoms),
                         notes=[f"closing of {dist:g} m around mapped buildings, holes filled"])
    cover = shapely.Polygon()
    if len(geoms):
        cell = dist / 2.0
        xy = shapely.get_coordinates(shapely.point_on_surface(geoms))
        ij = np.unique(np.floor(xy / cell).astype(np.int64), axis=0)
        boxes = shapely.box(ij[:, 0] * cell, ij[:, 1] * cell, (ij[:, 0] + 1) * cell,
                            (ij[:, 1] + 1) * cell)
        # closing with a square element: exact on the rectilinear union of cells
        closed = shapely.union_all(boxes).buffer(dist, join_style="mitre").buffer(
            -dist, join_style="mitre")
        shells = [shapely.Polygon(p.exterior) for p in shapely.get_parts(closed)
                  if not p.is_empty]
        cover = shapely.union_all(shells) if shells else shapely.Polygon()
    if area is not None:
        poly, _ = _area_polygon(area)
        cover = _family_part(shapely.intersection(cover, poly), "polygon") or shapely.Polygon()
        share = 100.0 * cover.area / poly.area
        report.notes.append(f"covers {share:.1f}% of the area ({cover.area / 10_000:.0f} of "
                            f"{poly.area / 10_000:.0f} ha)")
    out = gpd.GeoDataFrame({"distance_m": [dist]}, geometry=[cover], crs=b.crs,
                           index=pd.Index(["buildings"], name="coverage"))
    out["area_ha"] = area_ha(out.geometry)
    out = out[["distance_m", "area_ha", "geometry"]]
    report.features_n = 1
    report.log()
    return out, report


def _classify_building(df: pd.DataFrame) -> pd.DataFrame:
    value = _col(df, "building")
    ok = value.notna() & ~value.eq("no")
    return pd.DataFrame({"kind": np.where(ok, "building", None),
                         "tag": ("building=" + value.astype(str)).where(ok, None),
                         "reason": np.where(ok, "", np.where(value.eq("no"), "building=no",
                                                             "no building tag"))},
                        index=df.index)


def _buildings_from_vector(path: Path, report: LayerReport) -> gpd.GeoDataFrame:
    """Read a user's footprint file: every polygon is a building (``building`` column used)."""
    gdf = read_vector(path)
    report.sources.append(str(path))
    report.credit(file_credit(path, "buildings"), source=path)
    report.read_n += len(gdf)
    gdf, repaired = repair_geometries(gdf)
    report.repaired_n += repaired
    bad = gdf.geometry.isna() | gdf.geometry.is_empty
    report.skip("no geometry", int(bad.sum()))
    poly = gdf.geom_type.isin(["Polygon", "MultiPolygon"]) & ~bad
    report.skip("not a polygon geometry", int((~poly & ~bad).sum()))
    ids = pd.Series([f"file-{i}" for i in range(len(gdf))], index=gdf.index)
    gdf, ids = gdf.loc[poly], ids.loc[poly]
    if "building" in gdf.columns:
        value = gdf["building"].astype(object).where(gdf["building"].notna(), "yes").astype(str)
        no = value.eq("no")
        report.skip("building=no", int(no.sum()))
        gdf, ids, value = gdf.loc[~no], ids.loc[~no], value.loc[~no]
    else:
        value = pd.Series("yes", index=gdf.index)
        report.notes.append(f"{path.name} has no 'building' column: every polygon taken as "
                            f"building=yes")
    osm_id = gdf["osm_id"].astype(str) if "osm_id" in gdf.columns else pd.Series(
        None, index=gdf.index, dtype=object)
    return gpd.GeoDataFrame(
        {"feature_id": ids.to_numpy(), "kind": "building",
         "tag": ("building=" + value).to_numpy(), "name": None,
         "osm_id": osm_id.to_numpy(), "source": str(path)},
        geometry=gdf.geometry.to_numpy(), crs=gdf.crs,
    )


def _open_land_tags() -> dict[str, list[str]]:
    """Return the OSM tags of every kind of :data:`OPEN_LAND_TAGS`, by key."""
    tags: dict[str, list[str]] = {}
    for kind_tags in OPEN_LAND_TAGS.values():
        for key, values in kind_tags.items():
            tags.setdefault(key, []).extend(v for v in values if v not in tags.get(key, []))
    return tags


def _residential_land(area_gs, frame, *, source, data_dir, online, settings):
    """``landuse=residential`` polygons for the ``building=yes`` rule, and a note on the source."""
    spec = _LayerSpec("residential_land", RESIDENTIAL_LAND_TAGS, "polygon",
                      ("residential",), lambda t: _classify_landuse(t, ("residential",)),
                      kind_column=("kind", "landuse"))
    own = sorted({s for s in frame["source"].dropna() if str(s).lower().endswith(
        (".pbf", ".osm"))})
    try:
        if own:
            land, rep, _ = _load(spec, area_gs, data_dir=None, source=own[0], online=False,
                                 settings=settings)
        else:
            land, rep, _ = _load(spec, area_gs, data_dir=data_dir, source=None, online=online,
                                 settings=settings)
    except DataSourceError as exc:
        logger.info("buildings: no landuse=residential source (%s)", exc)
        return None, ("no landuse=residential source: building=yes never counted as "
                      "residential")
    geoms = np.asarray(land.geometry.values)
    if not len(geoms):
        return None, f"no landuse=residential in {', '.join(rep.sources)}"
    return geoms, (f"landuse=residential ({len(geoms)} polygons) from "
                   f"{', '.join(Path(s).name for s in rep.sources)}")


# --------------------------------------------------------------------------------------
# low-level readers
# --------------------------------------------------------------------------------------

_HSTORE_RE = re.compile(r'"((?:[^"\\]|\\.)*)"=>"((?:[^"\\]|\\.)*)"')
_UNESCAPE_RE = re.compile(r"\\(.)")


#: ``name`` values that say there is no name (OSM mapping errors; ``noname=yes`` is the
#: tag for that), compared without case and surrounding blanks.
PLACEHOLDER_NAMES = frozenset({"no name", "noname", "unnamed", "unnamed road", "no_name",
                               "sans nom", "naamloos", "geen naam", "ohne namen", "nimetön",
                               "n/a", "na", "none", "null", "-", "?", "fixme", "tbd"})


def drop_placeholder_names(name: pd.Series) -> pd.Series:
    """Return ``name`` with missing values where it says there is no name ("No Name", ...).

    Examples
    --------
    >>> drop_placeholder_names(pd.Series(["Quai des Usines", "No Name", " unnamed ", None])
    ...                        ).tolist()
    ['Quai des Usines', None, None, None]
    """
    text = name.astype("string").str.strip().str.lower()
    out = name.astype(object).where(~text.isin(PLACEHOLDER_NAMES).fillna(False), None)
    return out.where(out.notna(), None)


def parse_other_tags(text: str | None) -> dict[str, str]:
    r"""Parse GDAL's OSM ``other_tags`` hstore text into a dict.

    Examples
    --------
    >>> parse_other_tags('"craft"=>"carpenter","name:nl"=>"De \\"Zaag\\""')
    {'craft': 'carpenter', 'name:nl': 'De "Zaag"'}
    """
    if text is None or (isinstance(text, float) and np.isnan(text)) or not text:
        return {}
    return {_UNESCAPE_RE.sub(r"\1", k): _UNESCAPE_RE.sub(r"\1", v)
            for k, v in _HSTORE_RE.findall(str(text))}


def read_osm_file(
    path: str | os.PathLike,
    *,
    geometry: str = "multipolygons",
    tags: Tags | None = None,
) -> gpd.GeoDataFrame:
    """Read one layer of an OSM PBF or XML file with GDAL's OSM driver.

    GDAL's ``osmconf.ini`` turns a few keys into columns and packs every
    other tag into the ``other_tags`` hstore column; both are merged here,
    so every tag of a returned feature is a column.

    An extract cut by a bounding box is read as it is: a way with nodes
    outside the file keeps its part in the file (a line is split at the
    gaps, never bridged; a ring is closed straight across the cut), a
    multipolygon relation with member ways outside the file is rebuilt from
    the members it has, and what keeps no line or surface stays as a row
    without geometry. The column ``osm_repair`` marks these rows:
    ``"cut"``, ``"cut off"`` (no geometry) or ``"repaired"`` (a geometry
    GDAL wrote with a degenerate ring); None for the others. See
    :mod:`productivecity.sources._osm_cut`.

    Parameters
    ----------
    path : path-like
        ``.osm.pbf`` / ``.pbf`` or ``.osm`` (XML).
    geometry : {"multipolygons", "lines", "points", "multilinestrings"}
        GDAL OSM layer: closed areas and multipolygon relations, open ways,
        tagged nodes, or route relations.
    tags : mapping, optional
        osmnx-style filter, ``{key: True | value | [values]}``: keep features
        matching any entry. Default: all features.

    Returns
    -------
    GeoDataFrame
        Longitude/latitude (EPSG:4326); columns ``osm_element`` (``"node"``, ``"way"`` or
        ``"relation"``), ``osm_id`` (int64), ``osm_repair`` (str or None, see
        above), one column per tag key present (strings), ``geometry``.
    """
    path = Path(path)
    layers = ("points", "lines", "multipolygons", "multilinestrings", "other_relations")
    if geometry not in layers:
        raise ParameterError(f"geometry must be one of {layers} (a GDAL OSM layer of {path}), "
                             f"got {geometry!r}")
    if not path.exists():
        raise DataSourceError(f"OSM file {path} does not exist")
    if path.is_file() and path.stat().st_size == 0:
        raise DataSourceError(f"OSM file {path} is empty")

    def read() -> gpd.GeoDataFrame:
        if _osm_cut.shares_reads(path, geometry):
            # a small OSM file: each GDAL layer is read once and filtered here, as the
            # OGR SQL prefilter would (GDAL parses the whole file for each read anyway)
            return _read_osm_layer(path, geometry, None, tags,
                                   keep=functools.partial(_osm_mask, tags))
        try:
            stat = path.stat()
            fields, drv = _osm_fields(str(path.resolve()), stat.st_mtime_ns, stat.st_size,
                                      geometry)
        except Exception as exc:
            raise DataSourceError(f"could not open {path} as an OSM PBF/XML file: {exc}") \
                from exc
        if drv != "OSM":
            raise DataSourceError(f"{path} is not an OSM PBF/XML file (GDAL reads it as {drv})")
        where = _osm_where(tags, fields) if tags else None
        return _read_osm_layer(path, geometry, where, tags)

    # decoded once per file content, layer and tags: cached as GeoParquet (a file read
    # before is known to be OSM)
    from productivecity.sources._layer_cache import cached_geoparquet

    params = {"layer": geometry, "tags": _tags_key(tags)}
    return cached_geoparquet("osm", path, params, _OSM_READER_VERSION, read,
                             restore=_restore_osm)


@functools.lru_cache(maxsize=64)
def _osm_fields(path: str, mtime_ns: int, size: int, layer: str) -> tuple[tuple[str, ...],
                                                                          str | None]:
    # GDAL parses the whole file to open it: once per file version and layer, not per read
    info = pyogrio.read_info(path, layer=layer, **_osm_cut.osm_open_options(Path(path)))
    return tuple(info["fields"]), info.get("driver")


#: Version of the :func:`read_osm_file` cache entries (bump when its output changes).
_OSM_READER_VERSION = 2


def _tags_key(tags: Tags | None):
    if not tags:
        return None
    return sorted((str(k), v if isinstance(v, bool | str) else sorted(map(str, v)))
                  for k, v in tags.items())


def _read_osm_layer(path: Path, layer: str, where: str | None, tags, *,
                    keep=None) -> gpd.GeoDataFrame:
    # raw WKB, so that a ring GDAL writes for a cut way cannot stop the read; cut ways and
    # relations are repaired from what the file has and marked (see _osm_cut)
    raw = _osm_cut.read_osm_layer(path, layer, where, keep=keep)
    return _expand_osm(raw, layer, tags)


def _restore_osm(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    if list(frame.columns[:3]) != ["osm_element", "osm_id", _osm_cut.REPAIR_COLUMN]:
        raise ValueError(f"unexpected columns {list(frame.columns[:3])}")
    repair = frame[_osm_cut.REPAIR_COLUMN].astype(object)
    return frame.assign(**{_osm_cut.REPAIR_COLUMN: repair.where(repair.notna(), None)})


def _osm_where(tags: Tags, fields: list[str]) -> str:
    """OGR SQL prefilter: one clause per key, on its column or on other_tags (exact test later)."""
    clauses = []
    for key in tags:
        if key in fields:
            clauses.append(f'"{key}" IS NOT NULL')
        elif "other_tags" in fields:
            clauses.append(f"other_tags LIKE '%\"{key}\"=>%'")
    return " OR ".join(clauses) if clauses else "1=0"


def _osm_mask(tags: Tags | None, names: list[str], fields: list[np.ndarray]) -> np.ndarray:
    """Return the rows :func:`_osm_where` keeps, on the columns of a layer read whole.

    Every row without ``tags``. ``other_tags`` is searched case-sensitively (OGR's LIKE
    is not): a narrower prefilter that keeps every row the exact test
    (:func:`_match_tags`) keeps.
    """
    n = len(fields[0]) if fields else 0
    if not tags:
        return np.ones(n, dtype=bool)
    keep = np.zeros(n, dtype=bool)
    by_name = dict(zip(names, fields, strict=True))
    other = by_name.get("other_tags")
    for key in tags:
        if key in by_name:
            keep |= pd.notna(by_name[key])
        elif other is not None:
            keep |= pd.Series(other, dtype=object).str.contains(
                f'"{key}"=>', regex=False, na=False).to_numpy(dtype=bool)
    return keep


def _expand_osm(raw: gpd.GeoDataFrame, layer: str, tags: Tags | None) -> gpd.GeoDataFrame:
    skip = {"osm_id", "osm_way_id", "other_tags", "z_order", _osm_cut.REPAIR_COLUMN,
            raw.geometry.name}
    fixed = [c for c in raw.columns if c not in skip]
    records = []
    for row in raw[fixed + [c for c in ("other_tags",) if c in raw.columns]].itertuples(
            index=False):
        d = {k: v for k, v in zip(fixed, row[:len(fixed)], strict=True)
             if v is not None and not (isinstance(v, float) and np.isnan(v))}
        if "other_tags" in raw.columns:
            d.update(parse_other_tags(row[-1]))
        records.append({k: str(v) for k, v in d.items()})
    if layer == "multipolygons" and "osm_way_id" in raw.columns:
        way = pd.to_numeric(raw["osm_way_id"], errors="coerce")
        rel = pd.to_numeric(raw["osm_id"], errors="coerce")
        element = np.where(way.notna(), "way", "relation")
        ids = way.fillna(rel)
    else:
        element = np.full(len(raw), {"points": "node"}.get(layer, "way" if layer == "lines"
                                                                  else "relation"))
        ids = pd.to_numeric(raw["osm_id"], errors="coerce")
    tag_df = pd.DataFrame.from_records(records, index=raw.index) if records else pd.DataFrame(
        index=raw.index)
    repair = (raw[_osm_cut.REPAIR_COLUMN].astype(object)
              if _osm_cut.REPAIR_COLUMN in raw.columns
              else pd.Series(None, index=raw.index, dtype=object))
    out = gpd.GeoDataFrame(
        pd.concat([pd.DataFrame({"osm_element": element, "osm_id": ids.astype("Int64"),
                                 _osm_cut.REPAIR_COLUMN: repair.where(repair.notna(), None)},
                                index=raw.index), tag_df], axis=1),
        geometry=raw.geometry.values, crs=raw.crs,
    )
    if tags:
        out = out.loc[_match_tags(out, tags)]
    return out.reset_index(drop=True)


def _match_tags(df: pd.DataFrame, tags: Tags) -> np.ndarray:
    """Rows matching any ``key: True | value | [values]`` entry (osmnx semantics)."""
    keep = np.zeros(len(df), dtype=bool)
    for key, want in tags.items():
        if key not in df.columns:
            continue
        col = df[key]
        if want is True:
            keep |= col.notna().to_numpy()
        elif want is False:
            continue
        else:
            values = [want] if isinstance(want, str) else list(want)
            keep |= col.isin(values).to_numpy()
    return keep


# --------------------------------------------------------------------------------------
# source choice and loading
# --------------------------------------------------------------------------------------


class _LayerSpec:
    """What a layer needs: tags to fetch, geometry family, kinds, and the classifier."""

    def __init__(self, name: str, tags: dict, family: str, kinds: tuple[str, ...],
                 classify: Callable[[pd.DataFrame], pd.DataFrame],
                 kind_column: tuple[str, ...] | None, carry: tuple[str, ...] = ()):
        self.name = name
        self.tags = tags
        self.family = family
        self.kinds = kinds
        self.classify = classify
        self.kind_column = kind_column
        self.carry = carry  # tag keys kept as columns of the classified frame


def _load(spec: _LayerSpec, area, *, data_dir, source, online, settings):
    """Return (classified frame with feature_id/kind/name/osm_id/tag/source, report, area)."""
    area_poly, area_desc = _area_polygon(area)
    crs = metric_crs_of(area, what="area")
    area_gs = gpd.GeoSeries([area_poly], crs=crs)
    area_gs.attrs["description"] = area_desc
    report = LayerReport(spec.name)
    if source is not None:
        frame = _read_source(Path(source), spec, area_gs, report)
        return frame, report, area_gs
    settings = settings or get_settings()
    dd = _data_dir(data_dir)
    local = _local_candidates(spec.name, dd)
    if online:
        try:
            frame = _read_overpass(spec, area_poly, area_desc, settings, report, local, crs)
            return frame, report, area_gs
        except DataSourceError as exc:
            if not local or not settings.offline:
                raise
            report.notes.append(f"offline and not in the cache; used local files ({exc})")
    if not local:
        raise SourceNotFoundError(_missing_layer_message(spec.name, dd))
    frames = []
    missing = set(spec.kinds)
    for i, path in enumerate(local):
        if i and not missing:
            break
        sub = LayerReport(spec.name)
        frame = _read_source(path, spec, area_gs, sub)
        if i == 0:
            report.absorb(sub)
            frames.append(frame)
            found = _kinds_in_area(frame, area_poly)
            missing -= found
            report.notes.append(f"from {path.name}: "
                                + (", ".join(sorted(found)) if found else "nothing in the area"))
            continue
        found = _kinds_in_area(frame, area_poly) & missing
        if found:
            report.absorb(sub)
            frames.append(frame.loc[frame["kind"].isin(found)])
            report.skip(f"kinds already taken from the preferred source ({path.name})",
                        int((~frame["kind"].isin(found)).sum()))
            report.notes.append(f"{', '.join(sorted(found))} missing from {local[0].name}: "
                                f"taken from {path.name}")
            missing -= found
    frame = pd.concat(frames) if len(frames) > 1 else frames[0]
    return gpd.GeoDataFrame(frame, geometry=frame.geometry.name, crs=crs), report, area_gs


def _kinds_in_area(frame: gpd.GeoDataFrame, area_poly) -> set[str]:
    if frame.empty:
        return set()
    inside = shapely.intersects(area_poly, np.asarray(frame.geometry.values))
    return set(frame.loc[inside, "kind"].dropna())


def _data_dir(data_dir) -> DataDir | None:
    if data_dir is None or isinstance(data_dir, DataDir):
        return data_dir
    return DataDir(data_dir)


def _local_candidates(layer: str, dd: DataDir | None) -> list[Path]:
    if dd is None:
        return []
    found = []
    for kind in _LOCAL_KINDS[layer]:
        path = dd.find(kind)
        if path is not None and path not in found:
            found.append(path)
    return found


def _missing_layer_message(layer: str, dd: DataDir | None) -> str:
    root = dd.root if dd is not None else None
    kinds = _LOCAL_KINDS[layer]
    return (f"{layer}: no source. {missing_message(kinds[0], root)}; or "
            f"{missing_message(kinds[1], root)}; or pass source=<file> (PMTiles, OSM PBF/XML, "
            f"or a vector file), or online=True to download it from Overpass through osmnx")


def _read_source(path: Path, spec: _LayerSpec, area_gs, report: LayerReport):
    name = path.name.lower()
    if name.endswith(".pmtiles"):
        tagged = _tagged_from_pmtiles(path, spec, area_gs, report)
    elif name.endswith((".pbf", ".osm")):
        tagged = _tagged_from_osm(path, spec, report, area_gs.crs)
    else:
        report.credit(file_credit(path, spec.name), source=path)
        return _from_vector(path, spec, report, area_gs.crs)
    report.credit(OSM_CREDIT, source=path)
    frame = _classified(tagged, spec, report)
    return frame.assign(source=str(path))


def _classified(tagged: gpd.GeoDataFrame, spec: _LayerSpec, report: LayerReport):
    """Classify a tagged frame; left-out rows are counted by reason."""
    fam = tagged.geom_type.map(_family_of)
    wanted = spec.family.split("+")
    ok_fam = fam.isin(wanted)
    report.skip(f"not a {' or '.join(wanted)} geometry", int((~ok_fam).sum()))
    tagged = tagged.loc[ok_fam]
    cls = spec.classify(tagged)
    keep = cls["kind"].notna()
    for reason, n in cls.loc[~keep, "reason"].value_counts().items():
        report.skip(reason, int(n))
    tagged = tagged.loc[keep]
    cls = cls.loc[keep]
    name = tagged["name"] if "name" in tagged.columns else pd.Series(None, index=tagged.index)
    carried = {f"tag:{k}": _col(tagged, k) for k in spec.carry}
    if spec.carry:
        carried["tags_known"] = True  # OSM tags were read (not a user's vector file)
    return gpd.GeoDataFrame(
        {"feature_id": tagged["feature_id"], "kind": cls["kind"], "tag": cls["tag"],
         "name": name.where(name.notna(), None), "osm_id": tagged["osm_ref"], **carried},
        geometry=tagged.geometry, crs=tagged.crs,
    )


def _family_of(gtype: str) -> str:
    return {"Polygon": "polygon", "MultiPolygon": "polygon", "LineString": "line",
            "MultiLineString": "line", "Point": "point", "MultiPoint": "point"}.get(gtype, "other")


def _tagged_from_pmtiles(path: Path, spec: _LayerSpec, area_gs, report: LayerReport):
    fields = _pmtiles_fields(path)
    keys = [k for k in spec.tags if k in fields]
    if not keys:
        report.sources.append(str(path))
        report.notes.append(f"{path.name} has none of the tag columns {list(spec.tags)}")
        return _empty_tagged(area_gs.crs)
    where = _sql_filter({k: spec.tags[k] for k in keys})
    cols = sorted({*keys, *_extra_columns(spec, fields)})
    frags, stats = read_pmtiles_with_stats(path, area=area_gs, where=where, columns=cols)
    report.sources.append(str(path))
    report.read_n += stats.fragments_n
    report.merged_fragments_n += stats.merged_fragments_n
    report.repaired_n += stats.repaired_n
    report.skip("tile fragments without geometry", stats.empty_n)
    if stats.slivers_closed_n:
        report.notes.append(f"{stats.slivers_closed_n} objects joined across slivers at tile "
                            f"edges")
    tagged = frags.drop(columns=["fragments_n"])
    # tile objects keep the same mvt_id across geometry families: make ids unique
    fam = tagged.geom_type.map(_family_of)
    dup = tagged["mvt_id"].duplicated(keep=False)
    suffix = np.where(dup, "-" + fam.str[0], "")
    tagged["feature_id"] = "mvt-" + tagged["mvt_id"].astype("int64").astype(str) + suffix
    tagged["osm_ref"] = None
    for k in spec.tags:
        if k not in tagged.columns:
            tagged[k] = None
    return tagged


def _pmtiles_fields(path: Path) -> list[str]:
    return list(pmtiles_info(path)["fields"])


def _extra_columns(spec: _LayerSpec, fields: list[str]) -> list[str]:
    extra = ["name"]
    if spec.name == "poi":
        extra += list(_ACTIVE_KEYS) + list(_DISUSED_KEYS) + ["leisure", "amenity"]
    if spec.name == "canal":
        extra += ["waterway", "water", *_CANAL_EVIDENCE_KEYS]
    return [c for c in extra if c in fields]


def _sql_filter(tags: Tags) -> str:
    clauses = []
    for key, want in tags.items():
        col = '"' + key.replace('"', '""') + '"'
        if want is True:
            clauses.append(f"{col} IS NOT NULL")
        else:
            values = [want] if isinstance(want, str) else list(want)
            quoted = ",".join("'" + v.replace("'", "''") + "'" for v in values)
            clauses.append(f"{col} IN ({quoted})")
    return " OR ".join(clauses)


def _tagged_from_osm(path: Path, spec: _LayerSpec, report: LayerReport, crs):
    layers = []
    for fam in spec.family.split("+"):
        layers += [lyr for lyr in _OSM_LAYERS[fam] if lyr not in layers]
    frames = [read_osm_file(path, geometry=lyr, tags=spec.tags) for lyr in layers]
    report.sources.append(str(path))
    frames = [f for f in frames if len(f)]
    if not frames:
        return _empty_tagged(crs)
    osm = pd.concat(frames, ignore_index=True)
    osm = to_crs(gpd.GeoDataFrame(osm, geometry="geometry", crs=frames[0].crs), crs,
                 what=str(path))
    report.read_n += len(osm)
    osm = _count_cut(osm, path, report)
    return _tagged_from_osm_frame(osm, report)


def _count_cut(osm: gpd.GeoDataFrame, path: Path, report: LayerReport) -> gpd.GeoDataFrame:
    """Count the rows :func:`read_osm_file` marked cut, cut off or repaired; drop the cut off."""
    if _osm_cut.REPAIR_COLUMN not in osm.columns:
        return osm
    status = osm[_osm_cut.REPAIR_COLUMN]
    cut = int(status.eq(_osm_cut.CUT).sum())
    cut_off = int(status.eq(_osm_cut.CUT_OFF).sum())
    fixed = int(status.eq(_osm_cut.REPAIRED).sum())
    report.repaired_n += cut + fixed
    report.skip("cut off at the edge of the extract (too few of its nodes or member ways in "
                "the file)", cut_off)
    if cut:
        report.notes.append(
            f"{cut} features cut at the edge of {path.name} (nodes or member ways outside the "
            f"file) kept as their part in the file, rings closed straight across the cut, "
            f"lines split at the gaps (counted as repaired)")
    if fixed:
        report.notes.append(f"{fixed} geometries written with degenerate rings or lines by "
                            f"GDAL repaired (counted as repaired)")
    return osm.loc[status.ne(_osm_cut.CUT_OFF).to_numpy()].drop(
        columns=_osm_cut.REPAIR_COLUMN)


def _tagged_from_osm_frame(osm: gpd.GeoDataFrame, report: LayerReport) -> gpd.GeoDataFrame:
    """Add ``feature_id``/``osm_ref`` to a frame with ``osm_element``/``osm_id``; repair."""
    letters = osm["osm_element"].map(_OSM_ELEMENT_LETTER)
    ids = osm["osm_id"].astype("Int64").astype(str)
    osm = osm.assign(feature_id="osm-" + letters + ids,
                     osm_ref=osm["osm_element"] + "/" + ids)
    dup = osm["feature_id"].duplicated()
    report.skip("duplicate OSM objects", int(dup.sum()))
    osm = osm.loc[~dup]
    osm, repaired = repair_geometries(osm)
    report.repaired_n += repaired
    bad = osm.geometry.isna() | osm.geometry.is_empty
    report.skip("no usable geometry", int(bad.sum()))
    return osm.loc[~bad]


def _empty_tagged(crs) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"feature_id": pd.Series(dtype=object),
                             "osm_ref": pd.Series(dtype=object)},
                            geometry=gpd.GeoSeries([], crs=crs), crs=crs)


def _from_vector(path: Path, spec: _LayerSpec, report: LayerReport, crs) -> gpd.GeoDataFrame:
    """Read a user's vector file: kinds from a ``kind`` column (or alias), all rows counted."""
    gdf = read_vector(path, crs=crs)
    report.sources.append(str(path))
    report.read_n += len(gdf)
    gdf, repaired = repair_geometries(gdf)
    report.repaired_n += repaired
    bad = gdf.geometry.isna() | gdf.geometry.is_empty
    report.skip("no geometry", int(bad.sum()))
    gdf = gdf.loc[~bad]
    fam = gdf.geom_type.map(_family_of)
    wanted = spec.family.split("+")
    report.skip(f"not a {' or '.join(wanted)} geometry", int((~fam.isin(wanted)).sum()))
    gdf, fam = gdf.loc[fam.isin(wanted)], fam.loc[fam.isin(wanted)]
    if spec.kind_column is None:  # canal: kind from geometry
        kind = fam.map({"line": "waterway", "polygon": "water"})
        tag = kind.map({"waterway": "waterway=canal", "water": "water=canal"})
    else:
        col = next((c for c in spec.kind_column if c in gdf.columns), None)
        if col is None:
            raise SchemaError(
                f"{path} lacks a {' or '.join(repr(c) for c in spec.kind_column)} column for "
                f"the {spec.name} layer (expected one of {list(spec.kinds)}); available columns: "
                f"{[c for c in gdf.columns if c != gdf.geometry.name]}")
        kind = gdf[col].astype("string")
        other = ~kind.isin(spec.kinds)
        report.skip(f"{col} not one of {list(spec.kinds)}", int(other.sum()))
        gdf, kind = gdf.loc[~other], kind.loc[~other]
        tag = (col + "=" + kind).astype(object)
    if "zone_id" in gdf.columns or "id" in gdf.columns:
        ids = gdf["zone_id" if "zone_id" in gdf.columns else "id"].astype(str)
    else:
        ids = pd.Series([f"file-{i}" for i in range(len(gdf))], index=gdf.index)
    name = gdf["name"] if "name" in gdf.columns else pd.Series(None, index=gdf.index,
                                                                dtype=object)
    osm_id = gdf["osm_id"].astype(str) if "osm_id" in gdf.columns else pd.Series(
        None, index=gdf.index, dtype=object)
    return gpd.GeoDataFrame(
        {"feature_id": ids.to_numpy(), "kind": kind.astype(object).to_numpy(),
         "tag": tag.to_numpy(),
         "name": name.astype(object).where(name.notna(), None).to_numpy(),
         "osm_id": osm_id.to_numpy(), "source": str(path)},
        geometry=gdf.geometry.to_numpy(), crs=gdf.crs,
    )


# --------------------------------------------------------------------------------------
# online: Overpass through osmnx
# --------------------------------------------------------------------------------------


def _read_overpass(spec: _LayerSpec, area_poly, area_desc: str, settings: Settings,
                   report: LayerReport, local: list[Path], crs) -> gpd.GeoDataFrame:
    polygon_ll = gpd.GeoSeries([area_poly], crs=crs).to_crs("EPSG:4326").iloc[0]
    polygon_ll = shapely.set_precision(polygon_ll, 1e-6)
    alternative = (f"Or use local files: {', '.join(map(str, local))}." if local else
                   f"Or give a local file: {_missing_layer_message(spec.name, None)}")
    tagged = _online.cached_frame(
        "overpass", (spec.name, spec.tags, polygon_ll.wkt),
        lambda: fetch_overpass(polygon_ll, spec.tags, settings=settings),
        what=f"OSM {spec.name} for area {area_desc}", settings=settings,
        alternative=alternative,
    )
    report.sources.append(f"overpass:{settings.overpass_url}")
    report.credit(OSM_CREDIT)
    tagged = to_crs(tagged, crs, what="Overpass response")
    report.read_n += len(tagged)
    tagged = _tagged_from_osm_frame(tagged, report)
    return _classified(tagged, spec, report).assign(source="overpass")


def fetch_overpass(polygon_lonlat, tags: Tags, *, settings: Settings | None = None
                   ) -> gpd.GeoDataFrame:
    """Download OSM features inside a lon/lat polygon from Overpass through osmnx.

    The thin network call: the answer goes through :func:`parse_osmnx_features`.

    Parameters
    ----------
    polygon_lonlat : shapely Polygon or MultiPolygon
        Area in EPSG:4326 (x = longitude, y = latitude).
    tags : mapping
        osmnx tag filter.
    settings : Settings, optional
        Overpass endpoint, cache folder, timeout.

    Returns
    -------
    GeoDataFrame
        See :func:`parse_osmnx_features` (EPSG:4326).
    """
    import osmnx as ox
    import requests

    with _online.osmnx_configured(settings):
        try:
            gdf = ox.features_from_polygon(polygon_lonlat, tags=dict(tags))
        except ox._errors.InsufficientResponseError:
            gdf = gpd.GeoDataFrame(geometry=gpd.GeoSeries([], crs="EPSG:4326"))
        except (requests.RequestException, ValueError) as exc:
            s = settings or get_settings()
            raise DataSourceError(f"Overpass request to {s.overpass_url} failed: {exc}") from exc
    return parse_osmnx_features(gdf)


def parse_osmnx_features(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Turn an ``osmnx.features_from_*`` result into a flat, GeoPackage-safe frame.

    Parameters
    ----------
    gdf : GeoDataFrame
        Indexed by (``element``, ``id``) with one column per tag.

    Returns
    -------
    GeoDataFrame
        Same CRS; columns ``osm_element``, ``osm_id`` (int64), the tags as
        strings (list-valued columns such as ``nodes``/``ways`` dropped),
        ``geometry``; a RangeIndex.
    """
    if gdf.empty:
        return gpd.GeoDataFrame({"osm_element": pd.Series(dtype=object),
                                 "osm_id": pd.Series(dtype="int64")},
                                geometry=gpd.GeoSeries([], crs=gdf.crs or "EPSG:4326"))
    if gdf.index.nlevels != 2:
        raise DataSourceError("unexpected osmnx answer: index is not (element, id)")
    element = gdf.index.get_level_values(0).astype(str)
    ids = gdf.index.get_level_values(1).astype("int64")
    cols = {}
    for c in gdf.columns:
        if c == gdf.geometry.name or c in ("nodes", "ways"):
            continue
        s = gdf[c]
        if s.map(lambda v: isinstance(v, list | dict | tuple)).any():
            continue
        cols[str(c)] = np.array([None if v is None or (isinstance(v, float) and np.isnan(v))
                                 else str(v) for v in s], dtype=object)
    out = gpd.GeoDataFrame({"osm_element": np.asarray(element), "osm_id": np.asarray(ids),
                            **cols},
                           geometry=gdf.geometry.to_numpy(), crs=gdf.crs)
    return out


# --------------------------------------------------------------------------------------
# classification rules (pure)
# --------------------------------------------------------------------------------------


def _col(df: pd.DataFrame, key: str) -> pd.Series:
    if key in df.columns:
        return df[key].where(df[key].notna(), None)
    return pd.Series(None, index=df.index, dtype=object)


def _classify_landuse(df: pd.DataFrame, kinds) -> pd.DataFrame:
    landuse = _col(df, "landuse")
    ok = landuse.isin(kinds)
    return pd.DataFrame({"kind": landuse.where(ok, None),
                         "tag": ("landuse=" + landuse.astype(str)).where(ok, None),
                         "reason": np.where(ok, "", f"landuse not one of {list(kinds)}")},
                        index=df.index)


def _classify_canal(df: pd.DataFrame) -> pd.DataFrame:
    fam = df.geom_type.map(_family_of)
    waterway, water = _col(df, "waterway"), _col(df, "water")
    line = (fam == "line") & waterway.eq("canal")
    poly = (fam == "polygon") & (water.eq("canal") | waterway.eq("canal"))
    kind = pd.Series(np.where(line, "waterway", np.where(poly, "water", None)), index=df.index)
    tag = np.where(line, "waterway=canal",
                   np.where(poly & water.eq("canal"), "water=canal", "waterway=canal"))
    reason = np.where((fam == "line") & water.eq("canal"),
                      "outline of a canal water polygon (line tagged water=canal)",
                      "not waterway=canal / water=canal")
    return pd.DataFrame({"kind": kind.where(line | poly, None),
                         "tag": pd.Series(tag, index=df.index).where(line | poly, None),
                         "reason": np.where(line | poly, "", reason)}, index=df.index)


def _classify_open_land(df: pd.DataFrame) -> pd.DataFrame:
    kind = pd.Series(None, index=df.index, dtype=object)
    tag = pd.Series(None, index=df.index, dtype=object)
    for k, kind_tags in OPEN_LAND_TAGS.items():  # first match wins, in the table's order
        for key, values in kind_tags.items():
            value = _col(df, key)
            hit = value.isin(values) & kind.isna()
            kind[hit] = k
            tag[hit] = key + "=" + value[hit].astype(str)
    reason = np.where(kind.notna(), "", "not open land")
    return pd.DataFrame({"kind": kind, "tag": tag, "reason": reason}, index=df.index)


def _classify_poi(df: pd.DataFrame) -> pd.DataFrame:
    shop, craft = _col(df, "shop"), _col(df, "craft")
    leisure, amenity = _col(df, "leisure"), _col(df, "amenity")
    kind = pd.Series(None, index=df.index, dtype=object)
    tag = pd.Series(None, index=df.index, dtype=object)

    def assign(mask, k, t):
        mask = mask & kind.isna()
        kind[mask] = k
        tag[mask] = t[mask] if isinstance(t, pd.Series) else t

    assign(shop.eq("vacant"), "vacant_shop", "shop=vacant")
    assign(leisure.eq("hackerspace"), "hackerspace", "leisure=hackerspace")
    assign(leisure.eq("makerspace"), "makerspace", "leisure=makerspace")
    assign(amenity.isin(["makerspace", "fablab"]), "makerspace", "amenity=" + amenity.astype(str))
    assign(craft.notna(), "craft", "craft=" + craft.astype(str))
    assign(amenity.eq("school"), "school", "amenity=school")
    assign(amenity.eq("college"), "college", "amenity=college")
    active = pd.concat([_col(df, k).notna() & ~_col(df, k).eq("vacant") for k in _ACTIVE_KEYS],
                       axis=1).any(axis=1)
    for key in _DISUSED_KEYS:
        value = _col(df, key)
        assign(value.notna() & ~active, "disused", key + "=" + value.astype(str))
    reason = np.where(kind.notna(), "", "no POI kind (e.g. a disused tag on an active place)")
    return pd.DataFrame({"kind": kind, "tag": tag, "reason": reason}, index=df.index)


# --------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------


def _as_frame(obj, what: str = "layer") -> gpd.GeoDataFrame:
    if isinstance(obj, gpd.GeoSeries):
        return gpd.GeoDataFrame(geometry=obj)
    if isinstance(obj, gpd.GeoDataFrame):
        return obj
    raise ParameterTypeError(f"{what} must be a GeoDataFrame or GeoSeries, "
                             f"got {type(obj).__name__}")


def _area_polygon(area) -> tuple:
    """Return the study area as one polygon in its metric CRS and a description for messages."""
    try:
        frame = _as_frame(area, what="area")
    except TypeError as exc:
        raise AreaError(str(exc)) from None
    if frame.crs is None:
        raise CRSError("area has no CRS; set it first, e.g. area.set_crs('EPSG:4326') for "
                       "longitude/latitude")
    crs = metric_crs_of(frame, what="area")
    frame = to_crs(frame, crs, what="area")
    geoms = frame.geometry[frame.geometry.notna() & ~frame.geometry.is_empty]
    geoms = geoms[geoms.geom_type.isin(["Polygon", "MultiPolygon"])]
    if geoms.empty:
        raise AreaError("area has no polygon: give the study area as (Multi)Polygon geometry")
    poly = shapely.union_all(np.asarray(shapely.make_valid(np.asarray(geoms.values))))
    poly = _family_part(poly, "polygon")
    if poly is None or poly.is_empty:
        raise AreaError("area has no polygon with a surface")
    names = []
    if isinstance(area, gpd.GeoDataFrame) and "name" in area.columns:
        names = [str(n) for n in area["name"].dropna().unique()[:4]]
    lon0, lat0, lon1, lat1 = gpd.GeoSeries([poly], crs=crs).to_crs(4326).total_bounds
    bounds = f"lon {lon0:.3f}–{lon1:.3f}, lat {lat0:.3f}–{lat1:.3f}"
    desc = f"'{', '.join(names)}' ({bounds})" if names else f"({bounds})"
    return poly, desc


def _family_part(geom, family: str):
    """Keep only the polygonal or linear part of ``geom`` (None if nothing is left)."""
    if geom is None or geom.is_empty:
        return None
    if _family_of(geom.geom_type) == family:
        return geom
    parts = [p for p in shapely.get_parts(geom) if _family_of(p.geom_type) == family]
    if not parts:
        return None
    merged = shapely.union_all(parts)
    return shapely.line_merge(merged) if merged.geom_type == "MultiLineString" else merged


def _require_features(frame, spec: _LayerSpec, area_gs, report: LayerReport) -> None:
    if len(frame):
        return
    sources = ", ".join(report.sources) or "no source"
    raise EmptyLayerError(
        f"{spec.name}: no features ({', '.join(spec.kinds)}) in the area "
        f"{area_gs.attrs['description']}; source(s) read: {sources}")


def _fill_water_names(out: gpd.GeoDataFrame, report: LayerReport) -> gpd.GeoDataFrame:
    """Give unnamed water polygons the name of the named canal line running through them."""
    water_unnamed = out["feature"].eq("water") & out["name"].isna()
    lines = out.loc[out["feature"].eq("waterway") & out["name"].notna()]
    if not water_unnamed.any() or lines.empty:
        return out
    out = out.copy()
    filled = 0
    for idx, geom in out.geometry[water_unnamed].items():
        inside = lines.geometry.intersection(geom).length
        if inside.max() > 0:
            out.loc[idx, "name"] = lines.loc[inside.idxmax(), "name"]
            filled += 1
    if filled:
        report.notes.append(f"{filled} unnamed canal water polygons named after the canal line "
                            f"through them")
    return out


def _check_canal_names(names) -> tuple[str, ...] | None:
    if names is None:
        return None
    if isinstance(names, str):
        names = (names,)
    try:
        names = tuple(names)
    except TypeError:
        raise ParameterTypeError(f"canal: names must be a list of waterway names, "
                                 f"got {type(names).__name__}") from None
    if not names or not all(isinstance(n, str) and n.strip() for n in names):
        raise ParameterError(f"canal: names must be a non-empty list of waterway names, "
                             f"got {names!r}")
    return names


def _canal_tag(frame: pd.DataFrame, key: str) -> pd.Series:
    """Return a carried OSM tag of the canal frame: lower-cased strings or None."""
    col = f"tag:{key}"
    if col not in frame.columns:
        return pd.Series(None, index=frame.index, dtype=object)
    return frame[col].map(lambda v: None if v is None or pd.isna(v) else str(v).strip().lower()
                          ).astype(object)


def _width_m(value) -> float:
    """Metres from a ``width=*`` value (``"12"``, ``"10.5 m"``); NaN if not in metres."""
    if value is None:
        return np.nan
    m = re.fullmatch(r"\s*([0-9]+(?:[.,][0-9]+)?)\s*(m)?\s*", str(value))
    return float(m.group(1).replace(",", ".")) if m else np.nan


def _covered_canal(frame: pd.DataFrame, boats: pd.Series) -> pd.Series:
    """Covered/culverted rows; a ``tunnel`` (not culvert) that boats use is a canal tunnel."""
    tunnel, culvert = _canal_tag(frame, "tunnel"), _canal_tag(frame, "culvert")
    culverted = (tunnel.eq("culvert") | (culvert.notna() & culvert.ne("no"))
                 | _canal_tag(frame, "covered").eq("yes")
                 | _canal_tag(frame, "location").eq("underground"))
    return culverted | (tunnel.notna() & ~tunnel.isin(["no", "culvert"]) & ~boats)


def _boats_allowed(frame: pd.DataFrame) -> pd.Series:
    """Rows whose tags say boats use them: boat/motorboat/ship allowed or a CEMT class."""
    boat = pd.concat([_canal_tag(frame, k).isin(_CANAL_BOAT_YES)
                      for k in ("boat", "motorboat", "ship")], axis=1).any(axis=1)
    cemt = _canal_tag(frame, "CEMT")
    return boat | (cemt.notna() & ~cemt.isin(["0", "no"]))


def _canal_names_of(frame: pd.DataFrame) -> pd.Series:
    """Per row, the set of its lower-cased names (``name``, ``name:nl``, ``name:fr``)."""
    cols = [frame["name"].map(lambda v: None if v is None or pd.isna(v) else str(v).strip()
                              .lower()), _canal_tag(frame, "name:nl"), _canal_tag(frame,
                                                                                   "name:fr")]
    return pd.Series([{v for v in vals if v} for vals in zip(*cols, strict=True)],
                     index=frame.index, dtype=object)


def _connected_km(geoms: np.ndarray) -> np.ndarray:
    """Per line, the total length (km) of the lines connected to it (within 1 m)."""
    n = len(geoms)
    parent = np.arange(n)

    def find(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    if n:
        left, right = shapely.STRtree(geoms).query(geoms, predicate="dwithin", distance=1.0)
        for a, b in zip(left, right, strict=True):
            ra, rb = find(a), find(b)
            if ra != rb:
                parent[ra] = rb
    roots = np.array([find(i) for i in range(n)], dtype=int)
    lengths = shapely.length(geoms) / 1000
    total = pd.Series(lengths).groupby(roots).transform("sum")
    return total.to_numpy()


def _navigable_canal(frame: gpd.GeoDataFrame, report: LayerReport,
                     names: tuple[str, ...] | None) -> gpd.GeoDataFrame:
    """Keep the navigable canal (rules in :func:`canal`); count and name what is left out."""
    if frame.empty:
        return frame
    is_line = frame["kind"].eq("waterway").to_numpy()
    tagged = (frame["tags_known"].eq(True).to_numpy() if "tags_known" in frame.columns
              else np.zeros(len(frame), dtype=bool))
    reason = pd.Series(None, index=frame.index, dtype=object)
    boats = _boats_allowed(frame)
    covered = _covered_canal(frame, boats).to_numpy() & tagged
    reason[covered] = "covered or culverted watercourse (tunnel, culvert, covered=yes or " \
                      "location=underground)"
    row_names = _canal_names_of(frame)
    geoms = np.asarray(frame.geometry.values)
    if names is not None:
        wanted = {n.strip().lower() for n in names}
        line_names = row_names[is_line & ~covered]
        found = set().union(*line_names) if len(line_names) else set()
        unknown = [n for n in names if n.strip().lower() not in found]
        if unknown:
            shown = sorted({str(v) for c in ("name", "tag:name:nl", "tag:name:fr")
                            if c in frame.columns
                            for v in frame.loc[is_line & ~covered, c].dropna()})
            raise ConfigError(
                f"canal: [area] canal_names {unknown} not found among the canal lines "
                f"(waterway=canal, not covered) of {', '.join(report.sources)}; canal names "
                f"found: {shown or 'none (the canal lines have no name)'}")
        named = row_names.map(lambda s: bool(s & wanted)).to_numpy()
        reason[is_line & ~covered & ~named] = "not one of the named canals (canal_names)"
    else:
        usage = _canal_tag(frame, "usage")
        not_boat = ((_canal_tag(frame, "boat").eq("no") & ~boats)
                    | usage.isin(_CANAL_USAGE_WATER_ONLY)).to_numpy()
        width = _canal_tag(frame, "width").map(_width_m)
        tags_say = (boats | usage.isin(_CANAL_USAGE_NAVIGATION)
                    | width.ge(CANAL_MIN_WIDTH_M)).to_numpy()
        water = shapely.union_all(geoms[~is_line & ~covered]) if (~is_line & ~covered).any() \
            else None
        in_water = np.zeros(len(frame), dtype=bool)
        if water is not None and not water.is_empty:
            lengths = shapely.length(geoms)
            inside = shapely.length(shapely.intersection(geoms, water))
            in_water = is_line & (inside >= _CANAL_IN_WATER_SHARE * np.maximum(lengths, 1e-9))
        candidate = is_line & tagged & ~covered & ~not_boat
        proven = candidate & (tags_say | in_water)
        proven_names = set().union(*row_names[proven]) if proven.any() else set()
        by_name = candidate & ~proven & row_names.map(
            lambda s: bool(s & proven_names)).to_numpy()
        proven |= by_name
        rest = candidate & ~proven
        long_run = np.zeros(len(frame), dtype=bool)
        if rest.any():
            long_run[rest] = _connected_km(geoms[rest]) >= CANAL_MIN_CONNECTED_KM
        proven |= long_run
        reason[is_line & tagged & ~covered & not_boat] = (
            "tagged not for boats (boat=no, or usage=spillway/headrace/tailrace/irrigation/…)")
        reason[candidate & ~proven] = (
            f"no evidence of navigation (no boat/CEMT/usage/width >= {CANAL_MIN_WIDTH_M:g} m "
            f"tag, not in a canal water area, not part of a {CANAL_MIN_CONNECTED_KM:g} km "
            f"connected canal line)")
        report.notes.append(
            f"canal lines kept as navigable: {int((proven & ~by_name & ~long_run).sum())} on "
            f"their tags or water area, {int(by_name.sum())} by the name of such a line, "
            f"{int(long_run.sum())} as part of a connected run >= "
            f"{CANAL_MIN_CONNECTED_KM:g} km")
    kept_lines = is_line & reason.isna().to_numpy()
    line_union = shapely.union_all(geoms[kept_lines]) if kept_lines.any() else None
    polys = ~is_line & reason.isna().to_numpy()
    if polys.any():
        through = (np.zeros(len(frame), dtype=bool) if line_union is None else
                   shapely.length(shapely.intersection(geoms, line_union)) > 1.0)
        reason[polys & ~through] = "canal water area that no kept canal line runs through"
    left = reason.notna().to_numpy()
    for why, n in reason[left].value_counts().items():
        report.skip(why, int(n))
    if left.any():
        report.notes.append("left out of the canal: " + _left_out_names(frame.loc[left],
                                                                         reason[left]))
    return frame.loc[~left]


def _left_out_names(frame: gpd.GeoDataFrame, reason: pd.Series) -> str:
    """'<name> (<reason>, 0.8 km)' per left-out named waterway, then the unnamed ones."""
    is_line = frame["kind"].eq("waterway")
    size = np.where(is_line, shapely.length(np.asarray(frame.geometry.values)) / 1000,
                    shapely.area(np.asarray(frame.geometry.values)) / 10_000)
    short = reason.str.split(r" \(", regex=True).str[0]
    parts = []
    df = pd.DataFrame({"name": frame["name"], "line": is_line, "size": size, "why": short})
    for (name, why, line), g in df.dropna(subset=["name"]).groupby(["name", "why", "line"]):
        unit = "km" if line else "ha"
        parts.append(f"'{name}' ({why}, {g['size'].sum():.2f} {unit})")
    unnamed = df.loc[df["name"].isna()]
    if len(unnamed):
        parts.append(f"{len(unnamed)} unnamed ({unnamed.loc[unnamed['line'], 'size'].sum():.2f} "
                     f"km of line, {unnamed.loc[~unnamed['line'], 'size'].sum():.2f} ha of "
                     f"water)")
    return "; ".join(parts)


def _check_kinds(kinds, layer: str) -> tuple[str, ...]:
    if isinstance(kinds, str):
        kinds = (kinds,)
    kinds = tuple(kinds)
    if not kinds or not all(isinstance(k, str) and k for k in kinds):
        raise ParameterError(f"{layer}: kinds must be a non-empty sequence of landuse values, "
                             f"got {kinds!r}")
    return kinds


def _finish(out: gpd.GeoDataFrame, report: LayerReport):
    report.features_n = len(out)
    report.log()
    return out, report
