"""A base map from the run's own OSM file: streets, rail, water, green space, place names.

The maps of a run are drawn offline, without a tile server, so the context a
reader needs to find a place (streets and their names, rail, water, parks,
neighbourhood names) is read from the same OSM extract (PBF, else XML) the
run builds its street network and reads its buildings from, with
:func:`productivecity.sources.osm.read_osm_file` (decoded once per file and
cached). Everything is clipped to the study area plus a margin and returned
in the study area's CRS as a :class:`BaseMap`.

A data directory without an OSM file, or a file that cannot be read, gives an
empty base map with a note: the base map is context, never a reason to stop
a run.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from productivecity._errors import DataSourceError
from productivecity._i18n import LANGUAGES
from productivecity.sources.catalog import DataDir
from productivecity.sources.load_report import OSM_CREDIT, LayerReport

logger = logging.getLogger(__name__)

#: Street classes drawn, from the most to the least important, and their ``highway=*`` values.
STREET_KINDS: dict[str, tuple[str, ...]] = {
    "motorway": ("motorway", "motorway_link", "trunk", "trunk_link"),
    "primary": ("primary", "primary_link"),
    "secondary": ("secondary", "secondary_link"),
    "tertiary": ("tertiary", "tertiary_link"),
    "residential": ("residential", "unclassified", "living_street", "road"),
    "service": ("service", "pedestrian"),
    "path": ("footway", "path", "cycleway", "steps", "track", "bridleway"),
}
#: ``railway=*`` values drawn as rail lines.
RAIL_KINDS = ("rail", "light_rail", "narrow_gauge", "tram", "subway")
#: ``service=*`` values of tracks left out of the base map (yards and sidings clutter it).
RAIL_SERVICE_LEFT_OUT = ("yard", "siding", "spur", "crossover")
#: ``waterway=*`` values drawn as water lines.
WATERWAY_KINDS = ("river", "canal", "stream")
#: Water areas: tag key -> values.
WATER_AREA_TAGS: dict[str, tuple[str, ...]] = {
    "natural": ("water",),
    "waterway": ("riverbank", "dock"),
    "landuse": ("reservoir", "basin"),
}
#: Green space kinds and the tags that make them.
GREEN_TAGS: dict[str, dict[str, tuple[str, ...]]] = {
    "park": {"leisure": ("park", "garden", "nature_reserve")},
    "wood": {"landuse": ("forest",), "natural": ("wood", "scrub")},
    "grass": {"landuse": ("grass", "meadow", "village_green", "recreation_ground"),
              "natural": ("grassland",)},
    "cemetery": {"landuse": ("cemetery",), "amenity": ("grave_yard",)},
    "allotments": {"landuse": ("allotments",)},
}
#: ``place=*`` values kept as place names (towns and cities help name municipalities).
PLACE_KINDS = ("city", "town", "village", "suburb", "quarter", "neighbourhood", "hamlet")
#: Default margin around the study area (m).
MARGIN_M = 500.0


@dataclasses.dataclass
class BaseMap:
    """The base-map layers of a study area, in its CRS.

    Attributes
    ----------
    streets : GeoDataFrame
        Lines; ``kind`` (a key of :data:`STREET_KINDS`), ``highway``, ``name`` and one
        ``name:<lang>`` column per language of :attr:`languages`.
    rail : GeoDataFrame
        Lines; ``kind`` (``railway=*``, one of :data:`RAIL_KINDS`), ``name``. Not in tunnels,
        no yards or sidings (:data:`RAIL_SERVICE_LEFT_OUT`).
    water : GeoDataFrame
        Polygons (``kind`` ``"area"``) and lines (``kind`` = ``waterway=*``), ``name``.
    green : GeoDataFrame
        Polygons; ``kind`` (a key of :data:`GREEN_TAGS`), ``name``.
    places : GeoDataFrame
        Points; ``kind`` (``place=*``), ``name`` and the ``name:<lang>`` columns.
    languages : dict of str to str
        Language -> its name column (``"nl"`` -> ``"name:nl"``), for the languages the
        data has names in.
    report : LayerReport
        What was read, kept and skipped, and why (notes).
    """

    streets: gpd.GeoDataFrame
    rail: gpd.GeoDataFrame
    water: gpd.GeoDataFrame
    green: gpd.GeoDataFrame
    places: gpd.GeoDataFrame
    languages: dict[str, str]
    report: LayerReport

    @property
    def crs(self):
        """The CRS of the layers (the study area's)."""
        return self.streets.crs

    @property
    def empty(self) -> bool:
        """True when no layer has a feature."""
        return not any(len(f) for f in self.frames().values())

    @property
    def notes(self) -> list[str]:
        """The report's notes (why a layer is empty, which file was read)."""
        return self.report.notes

    def frames(self) -> dict[str, gpd.GeoDataFrame]:
        """Return the layers by name."""
        return {"streets": self.streets, "rail": self.rail, "water": self.water,
                "green": self.green, "places": self.places}

    def name_column(self, lang: str) -> str:
        """Return the name column of ``lang``: ``name:<lang>`` if the data has it, else ``name``."""
        return self.languages.get(lang, "name")


def names_in(frame: pd.DataFrame, lang: str) -> pd.Series:
    """Return each row's name in ``lang`` (``name:<lang>``), else its ``name`` (None: no name).

    Placeholders that say there is no name ("No Name", ...) are no name.
    """
    from productivecity.sources.osm import drop_placeholder_names

    name = frame["name"] if "name" in frame.columns else pd.Series(None, index=frame.index,
                                                                     dtype=object)
    name = drop_placeholder_names(name)
    col = f"name:{lang}"
    if col in frame.columns:
        local = drop_placeholder_names(frame[col])
        name = local.where(local.notna(), name)
    return name.astype(object).where(name.notna(), None)


def empty_basemap(crs, note: str, *, report: LayerReport | None = None) -> BaseMap:
    """Return a base map without features, with ``note`` saying why."""
    report = report or LayerReport("basemap")
    report.notes.append(note)

    def frame(cols):
        return gpd.GeoDataFrame({c: pd.Series(dtype=object) for c in cols},
                                geometry=gpd.GeoSeries([], crs=crs), crs=crs)

    return BaseMap(streets=frame(["kind", "highway", "name"]), rail=frame(["kind", "name"]),
                   water=frame(["kind", "name"]), green=frame(["kind", "name"]),
                   places=frame(["kind", "name"]), languages={}, report=report)


def read_basemap_features(path: str | os.PathLike):
    """Read the base map's features of an OSM file: lines, polygons and points (cached).

    Streets, rail and waterways; green space and water; place names. Each read is
    kept in the decoded-layer cache, so a second process can read them ahead of the
    run (:meth:`productivecity.workflow.steps._Run.prefetch_networks`).
    """
    from productivecity.sources.osm import read_osm_file

    path = Path(path)
    lines = read_osm_file(path, geometry="lines",
                          tags={"highway": True, "railway": list(RAIL_KINDS),
                                "waterway": list(WATERWAY_KINDS)})
    polys = read_osm_file(path, geometry="multipolygons", tags=_polygon_tags())
    points = read_osm_file(path, geometry="points", tags={"place": list(PLACE_KINDS)})
    return lines, polys, points


def read_basemap(
    layers,
    data_dir=None,
    *,
    margin_m: float = MARGIN_M,
    languages: Sequence[str] = LANGUAGES,
    source=None,
) -> BaseMap:
    """Read the base map of the study area from the run's OSM file.

    Parameters
    ----------
    layers : LayerSet or mapping of str to GeoDataFrame
        Must hold ``study_area`` (its CRS is the base map's).
    data_dir : path-like or DataDir, optional
        Where the OSM file is (``osm/*.osm.pbf``, else ``osm/*.osm``); default the
        layer set's data directory.
    margin_m : float, default 500
        Keep features up to this far outside the study area (m).
    languages : sequence of str
        Languages whose ``name:<lang>`` tags are kept (default the output languages).
    source : path-like, optional
        An OSM PBF/XML file to read instead of the data directory's.

    Returns
    -------
    BaseMap
        Empty, with a note, when there is no OSM file or it cannot be read.
    """
    data = getattr(layers, "layers", layers)
    area = data.get("study_area") if hasattr(data, "get") else None
    if area is None or not len(area) or area.crs is None:
        return _logged(empty_basemap(None, "no study area with a CRS: no base map"))
    crs = area.crs
    report = LayerReport("basemap")
    path = Path(source) if source is not None else _osm_file(layers, data_dir)
    if path is None:
        return _logged(empty_basemap(crs, "no OSM file (osm/*.osm.pbf or osm/*.osm) in the data "
                                          "directory: maps without streets", report=report))
    clip = shapely.union_all(np.asarray(area.geometry.values)).buffer(margin_m)
    clip = shapely.simplify(clip, 10.0)
    shapely.prepare(clip)
    keys = ("name", *(f"name:{lang}" for lang in languages))
    try:
        lines, polys, points = read_basemap_features(path)
    except DataSourceError as exc:
        return _logged(empty_basemap(crs, f"OSM file not readable ({exc}): maps without "
                                          f"streets", report=report))
    report.sources.append(str(path))
    report.credit(OSM_CREDIT, source=path)
    report.read_n = len(lines) + len(polys) + len(points)
    lines = _in_area(lines, crs, clip, report)
    polys = _in_area(polys, crs, clip, report)
    points = _in_area(points, crs, clip, report)

    tunnel = _tag(lines, "tunnel").fillna("no").ne("no")
    culvert = tunnel | _tag(lines, "covered").eq("yes")
    highway = _tag(lines, "highway")
    street_kind = pd.Series(None, index=lines.index, dtype=object)
    for kind, values in STREET_KINDS.items():
        street_kind = street_kind.where(~highway.isin(values), kind)
    is_street = highway.notna()
    report.skip("streets in tunnels", int((is_street & tunnel).sum()))
    report.skip("highway=* values that are no street (platforms, construction, ...)",
                int((is_street & ~tunnel & street_kind.isna()).sum()))
    streets = _frame(lines, (is_street & ~tunnel & street_kind.notna()).to_numpy(),
                     kind=street_kind, keys=keys, highway=highway)
    railway = _tag(lines, "railway")
    is_rail = railway.isin(RAIL_KINDS)
    report.skip("rail lines in tunnels", int((is_rail & tunnel).sum()))
    sidings = is_rail & ~tunnel & _tag(lines, "service").isin(RAIL_SERVICE_LEFT_OUT)
    report.skip("rail yards and sidings", int(sidings.sum()))
    rail = _frame(lines, (is_rail & ~tunnel & ~sidings).to_numpy(), kind=railway,
                  keys=("name",))
    waterway = _tag(lines, "waterway")
    is_waterway = waterway.isin(WATERWAY_KINDS) & ~is_street & ~is_rail
    report.skip("waterways in tunnels or culverts", int((is_waterway & culvert).sum()))
    water_lines = _frame(lines, (is_waterway & ~culvert).to_numpy(), kind=waterway,
                         keys=("name",))

    water_mask = np.zeros(len(polys), dtype=bool)
    for key, values in WATER_AREA_TAGS.items():
        water_mask |= _tag(polys, key).isin(values).to_numpy()
    water_area = _frame(polys, water_mask, kind=pd.Series("area", index=polys.index),
                        keys=("name",))
    water = gpd.GeoDataFrame(pd.concat([water_area, water_lines], ignore_index=True),
                             geometry="geometry", crs=crs)
    green_kind = pd.Series(None, index=polys.index, dtype=object)
    for kind, tags in reversed(GREEN_TAGS.items()):  # the first kind whose tags match wins
        hit = np.zeros(len(polys), dtype=bool)
        for key, values in tags.items():
            hit |= _tag(polys, key).isin(values).to_numpy()
        green_kind = green_kind.where(~hit, kind)
    green = _frame(polys, (green_kind.notna() & ~water_mask).to_numpy(), kind=green_kind,
                   keys=("name",))
    place = _tag(points, "place")
    places = _frame(points, (place.isin(PLACE_KINDS) & _tag(points, "name").notna()).to_numpy(),
                    kind=place, keys=keys)
    languages_found = {lang: f"name:{lang}" for lang in languages
                       if f"name:{lang}" in streets.columns
                       and streets[f"name:{lang}"].notna().any()}
    out = BaseMap(streets=streets, rail=rail, water=water, green=green, places=places,
                  languages=languages_found, report=report)
    report.features_n = sum(len(f) for f in out.frames().values())
    report.notes.append(
        f"from {path.name}: {len(streets)} streets ({int(streets['name'].notna().sum())} named), "
        f"{len(rail)} rail lines, {len(water)} water, {len(green)} green, {len(places)} places; "
        f"street names in {', '.join(sorted(languages_found)) or 'the name tag only'}")
    if streets.empty:
        report.notes.append(f"no street of {path.name} in the study area: maps without streets")
    return _logged(out)


def _logged(basemap: BaseMap) -> BaseMap:
    rep = basemap.report
    skipped = "; ".join(f"{n} {reason}" for reason, n in rep.skipped.items())
    logger.info("basemap: %d features from %d records (%s)%s", rep.features_n, rep.read_n,
                ", ".join(rep.sources) or "no source", f"; left out {skipped}" if skipped else "")
    for note in rep.notes:
        logger.info("basemap: %s", note)
    return basemap


def _osm_file(layers, data_dir) -> Path | None:
    root = data_dir if data_dir is not None else getattr(layers, "data_dir", None)
    if root is None:
        return None
    dd = root if isinstance(root, DataDir) else DataDir(root)
    return dd.find("osm_pbf") or dd.find("osm_xml")


def _polygon_tags() -> dict[str, list[str]]:
    tags: dict[str, list[str]] = {}
    for kind_tags in [WATER_AREA_TAGS, *GREEN_TAGS.values()]:
        for key, values in kind_tags.items():
            tags.setdefault(key, []).extend(v for v in values if v not in tags.get(key, []))
    return tags


def _tag(frame: pd.DataFrame, key: str) -> pd.Series:
    if key in frame.columns:
        return frame[key].astype(object).where(frame[key].notna(), None)
    return pd.Series(None, index=frame.index, dtype=object)


def _in_area(frame: gpd.GeoDataFrame, crs, clip, report: LayerReport) -> gpd.GeoDataFrame:
    """Project to ``crs``, drop rows without geometry, clip to ``clip`` (counted)."""
    report.skip("OSM objects without geometry (cut off by the extract)",
                int((frame.geometry.isna() | frame.geometry.is_empty).sum()))
    frame = frame.loc[~(frame.geometry.isna() | frame.geometry.is_empty)].to_crs(crs)
    geoms = np.asarray(frame.geometry.values)
    hit = shapely.intersects(clip, geoms)
    report.outside_area_n += int((~hit).sum())
    frame, geoms = frame.loc[hit], geoms[hit]
    inside = shapely.contains(clip, geoms)
    cut = geoms.copy()
    cut[~inside] = shapely.intersection(geoms[~inside], clip)
    frame = frame.set_geometry(gpd.GeoSeries(cut, index=frame.index, crs=crs))
    return frame.loc[~frame.geometry.is_empty]


def _frame(src: gpd.GeoDataFrame, mask: np.ndarray, *, kind: pd.Series,
           keys: Sequence[str], highway: pd.Series | None = None) -> gpd.GeoDataFrame:
    """Rows ``mask`` of ``src`` with ``kind``, ``osm_id``, the ``keys`` tags; sorted by id."""
    sub = src.loc[mask]
    cols: dict[str, object] = {"kind": kind.loc[sub.index].to_numpy(dtype=object)}
    if highway is not None:
        cols["highway"] = highway.loc[sub.index].to_numpy(dtype=object)
    for key in keys:
        cols[key] = _tag(sub, key).to_numpy(dtype=object)
    cols["osm_id"] = sub["osm_id"].to_numpy() if "osm_id" in sub.columns else np.arange(len(sub))
    out = gpd.GeoDataFrame(cols, geometry=sub.geometry.to_numpy(), crs=sub.crs)
    # drop the name:<lang> columns the data never fills
    out = out.drop(columns=[k for k in keys if k != "name" and out[k].isna().all()])
    order = np.lexsort((out["osm_id"].astype("int64").to_numpy(), out["kind"].astype(str)))
    return out.iloc[order].reset_index(drop=True)


__all__ = ["BaseMap", "empty_basemap", "names_in", "read_basemap"]
