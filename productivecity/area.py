"""Study areas: named presets, polygon files, bounding boxes and place names.

A study area is a one-row GeoDataFrame with columns ``name``, ``source`` and
``area_ha``, in the metric CRS of the area (:func:`productivecity.crs.area_crs`:
the ``crs`` named, the preset's own, the area file's when true to scale, else
the UTM zone). Every layer loader clips to it and works in its CRS.

Presets
-------
A preset is a named set of municipalities, dissolved from municipality
boundaries (a ``municipalities`` file of the data directory, or downloaded
through osmnx when online). The region plug-ins of
:mod:`productivecity.sources.regions` define them; the package adds
``sample``, the synthetic sample shipped with it (not real data).
"""

from __future__ import annotations

import dataclasses
import logging
import os
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from productivecity._errors import AreaError, CRSError, DataSourceError
from productivecity._online import cached_frame, osmnx_configured
from productivecity.crs import area_crs, check_coordinates, crs_label, is_metric, to_crs
from productivecity.settings import Settings, get_settings
from productivecity.sources import regions
from productivecity.sources._read import read_vector
from productivecity.sources.catalog import (
    GENERIC_SOURCES,
    DataDir,
    missing_message,
    sample_data_dir,
)
from productivecity.sources.units import read_municipalities

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Preset:
    """A named study area made of municipalities.

    Attributes
    ----------
    name : str
        Preset name used on the command line.
    title : str
        Human-readable title for maps.
    codes : tuple of str
        Member municipalities by the municipality code of the preset's region
        plug-in (:class:`~productivecity.sources.regions.UnitCodes`): the
        ``nis5`` index of the municipality layer. :attr:`nis5` is a deprecated
        alias.
    place_queries : tuple of str
        Nominatim queries, one per member (same order as ``codes``), for the
        online path.
    data_dir : Path or None
        Default data directory (the shipped sample), or None.
    crs : str or None
        The preset's metric CRS (e.g. a national grid); None: chosen from the
        area (:func:`productivecity.crs.area_crs`).
    lang : str or None
        Default language of the outputs ("en", "nl", "fr"); None: English.
    """

    name: str
    title: str
    codes: tuple[str, ...]
    place_queries: tuple[str, ...]
    data_dir: Path | None = None
    crs: str | None = None
    lang: str | None = None

    def __post_init__(self):
        if self.place_queries and len(self.place_queries) != len(self.codes):
            raise AreaError(f"preset {self.name!r} has {len(self.codes)} municipality codes but "
                            f"{len(self.place_queries)} place queries; give one query per code")

    @property
    def nis5(self) -> tuple[str, ...]:
        """Deprecated alias of :attr:`codes` (the member municipality codes)."""
        return self.codes


#: The synthetic sample shipped with the package; region plug-ins add their own presets.
SAMPLE = Preset(
    name="sample",
    title="Sample Canal Town (synthetic sample data)",
    codes=("99001", "99002", "99003"),
    place_queries=(),
    data_dir=sample_data_dir(),
    crs="EPSG:31370",  # the grid the synthetic sample was drawn in (scripts/make_sample.py)
    lang="en",
)


def _presets() -> dict[str, Preset]:
    return {**regions.presets(), SAMPLE.name: SAMPLE}


#: Every preset by name: the region plug-ins' presets and :data:`SAMPLE`.
PRESETS = regions.LazyMapping(_presets)


def preset_names() -> list[str]:
    """Return the names of the study-area presets."""
    return sorted(PRESETS)


def study_area(
    spec: str | os.PathLike | tuple | BaseGeometry | gpd.GeoDataFrame | gpd.GeoSeries,
    *,
    data_dir: str | os.PathLike | None = None,
    municipalities: str | os.PathLike | None = None,
    name: str | None = None,
    crs=None,
    settings: Settings | None = None,
) -> gpd.GeoDataFrame:
    """Resolve a study area into one polygon in its metric CRS.

    Parameters
    ----------
    spec : str, path, tuple, shapely geometry or GeoDataFrame
        - a preset name (see :func:`preset_names`);
        - a path to any polygon vector file (all features are dissolved);
        - ``"bbox:minlon,minlat,maxlon,maxlat"`` or a 4-tuple in longitude/latitude;
        - ``"place:Some Town, Country"`` (online: geocoded with osmnx);
        - a GeoDataFrame/GeoSeries with a CRS, or a shapely geometry with ``crs``.
    data_dir : path-like, optional
        Data directory whose ``municipalities`` file builds presets.
    municipalities : path-like, optional
        Explicit municipality boundary file for presets (overrides ``data_dir``).
    name : str, optional
        Name given to the area (default derived from ``spec``).
    crs : str, int or pyproj.CRS, optional
        The metric CRS of the run (e.g. a national grid such as ``"EPSG:3067"``).
        Default: the preset's own, else the area's own when true to scale, else
        the UTM zone of the area (:func:`productivecity.crs.area_crs`). For a
        bare shapely geometry: the CRS of its coordinates.
    settings : Settings, optional
        Online/offline and cache settings.

    Returns
    -------
    GeoDataFrame
        One row; columns ``name`` (str), ``source`` (str: where the polygon
        came from), ``area_ha`` (float, hectares); in the area's metric CRS.

    Raises
    ------
    AreaError
        Unknown preset or spec, no polygon, zero area.
    CRSError
        A file whose coordinates contradict its declared CRS; a ``crs`` that
        is not metric or not made for the area.

    Examples
    --------
    >>> from productivecity.area import study_area
    >>> area = study_area("sample")
    >>> area.crs.to_epsg(), round(float(area["area_ha"].iloc[0]))
    (31370, 1200)
    >>> study_area("bbox:26.93,60.52,26.97,60.54").crs.to_epsg()  # UTM zone 35N
    32635
    """
    settings = settings or get_settings()
    if isinstance(spec, gpd.GeoDataFrame | gpd.GeoSeries):
        geoms = spec.geometry if isinstance(spec, gpd.GeoDataFrame) else spec
        if geoms.crs is None:
            raise CRSError("the study area has no CRS; set the one its coordinates are in "
                           "(e.g. .set_crs('EPSG:4326') for longitude/latitude)")
        return _one_polygon(gpd.GeoSeries(geoms), name=name or "custom area",
                            source="GeoDataFrame", crs=crs)
    if isinstance(spec, BaseGeometry):
        if crs is None:
            raise CRSError("a shapely geometry has no CRS: pass crs= (the CRS of its "
                           "coordinates), or give a GeoSeries with a CRS")
        # crs is the CRS of the coordinates; the run's CRS too when it is metric
        return _one_polygon(gpd.GeoSeries([spec], crs=crs), name=name or "custom area",
                            source="geometry", crs=crs if is_metric(crs) else None)
    if isinstance(spec, tuple | list):
        return from_bbox(spec, name=name, crs=crs)
    text = str(spec)
    if text in PRESETS:
        return from_preset(
            text, data_dir=data_dir, municipalities=municipalities, crs=crs, settings=settings
        )
    if text.startswith("bbox:"):
        try:
            values = tuple(float(v) for v in text[5:].split(","))
        except ValueError:
            raise AreaError(
                f"cannot read bounding box {text!r}; expected 'bbox:minlon,minlat,maxlon,maxlat'"
            ) from None
        return from_bbox(values, name=name, crs=crs)
    if text.startswith("place:"):
        return from_place(text[6:].strip(), crs=crs, settings=settings)
    path = Path(text).expanduser()
    if path.suffix and (path.exists() or os.sep in text or "/" in text):
        return from_file(path, name=name, crs=crs)
    raise AreaError(
        f"unknown study area {text!r}: expected a preset ({', '.join(preset_names())}), a polygon "
        f"file, 'bbox:minlon,minlat,maxlon,maxlat' or 'place:<name>' (online)"
    )


def from_preset(
    preset: str,
    *,
    data_dir: str | os.PathLike | None = None,
    municipalities: str | os.PathLike | None = None,
    crs=None,
    settings: Settings | None = None,
) -> gpd.GeoDataFrame:
    """Build a preset area by dissolving its member municipalities (see :data:`PRESETS`).

    The area is in ``crs``, else the preset's own CRS, else one chosen from the area.
    """
    settings = settings or get_settings()
    if preset not in PRESETS:
        raise AreaError(f"unknown area preset {preset!r}; presets are {preset_names()}")
    p = PRESETS[preset]
    members = preset_municipalities(
        preset, data_dir=data_dir, municipalities=municipalities, settings=settings
    )
    source = members.attrs.get("source", "municipality boundaries")
    return _one_polygon(members.geometry, name=p.name, source=source, crs=crs,
                        preset_crs=p.crs)


def preset_municipalities(
    preset: str,
    *,
    data_dir: str | os.PathLike | None = None,
    municipalities: str | os.PathLike | None = None,
    settings: Settings | None = None,
) -> gpd.GeoDataFrame:
    """Return the member municipalities of a preset (index ``nis5``, column ``name``).

    Sources in order: ``municipalities`` file, the data directory's
    municipalities file, the preset's own sample data, then (online) osmnx
    geocoding of each member. A member missing from a file is an error that
    names it.
    """
    settings = settings or get_settings()
    if preset not in PRESETS:
        raise AreaError(f"unknown area preset {preset!r}; presets are {preset_names()}")
    p = PRESETS[preset]
    path = Path(municipalities) if municipalities is not None else None
    if path is None:
        for folder in (data_dir, p.data_dir):
            if folder is not None:
                path = DataDir(folder).find("municipalities")
                if path is not None:
                    break
    if path is not None:
        muni = read_municipalities(path)
        missing = [c for c in p.codes if c not in muni.index]
        if missing:
            raise AreaError(
                f"{path} lacks municipalities {missing} of preset {preset!r} "
                f"(expected municipality codes {list(p.codes)})"
            )
        out = muni.loc[list(p.codes)]
        out.attrs["source"] = str(path)
        return out
    if not p.place_queries:
        raise DataSourceError(
            missing_message("municipalities", Path(data_dir) if data_dir else None)
        )
    queries = "; ".join(repr(q) for q in p.place_queries)
    gdf = cached_frame(
        "nominatim",
        ("preset", p.name, p.place_queries),
        lambda: _geocode_members(p, settings),
        what=f"the boundaries of preset {p.name!r} (Nominatim {queries})",
        settings=settings,
        alternative=_boundary_file_hint(p, data_dir),
    )
    out = gpd.GeoDataFrame(
        {"name": gdf["name"].to_numpy()},
        geometry=gdf.geometry.to_numpy(),
        index=pd.Index(gdf["nis5"].to_numpy(), name="nis5"),
        crs=gdf.crs,
    )
    out.attrs["source"] = "OpenStreetMap via Nominatim (osmnx)"
    return out


def _boundary_file_hint(p: Preset, data_dir) -> str:
    """Say which local file builds preset ``p`` without a download, in its region's format."""
    region = regions.preset_region(p.name)
    rules = region.municipality_codes if region is not None else None
    extra = region.source_patterns.get("municipalities") if region is not None else None
    base = GENERIC_SOURCES["municipalities"]
    patterns = (*(extra.before if extra else ()), *base.patterns, *(extra.after if extra else ()))
    hint = extra.hint if extra is not None and extra.hint else base.hint
    codes = f"{rules.label} codes" if rules is not None else "codes"
    column = (f" in a column {' or '.join(repr(c) for c in rules.columns[:2])}"
              if rules is not None and rules.columns else "")
    where = f"data directory {data_dir}" if data_dir else "the data directory"
    return (f"Or provide the boundaries of its municipalities ({codes} {list(p.codes)}{column}) "
            f"as {' or '.join(patterns)} in {where} (or pass it as municipalities=), e.g. "
            f"{hint}")


def _geocode_members(p: Preset, settings: Settings) -> gpd.GeoDataFrame:
    import osmnx as ox
    from osmnx._errors import InsufficientResponseError

    with osmnx_configured(settings):
        try:
            gdf = ox.geocode_to_gdf(list(p.place_queries))
        except (InsufficientResponseError, TypeError) as exc:
            # no result, or no (Multi)Polygon boundary among the results
            raise DataSourceError(
                f"Nominatim ({settings.nominatim_url}) gave no boundary polygon for preset "
                f"{p.name!r}: {exc} {_boundary_file_hint(p, None)}"
            ) from exc
    gdf = gdf[["geometry"]].copy()
    gdf["nis5"] = list(p.codes)
    gdf["name"] = [q.split(",")[0] for q in p.place_queries]
    return gdf


def from_file(
    path: str | os.PathLike, *, layer: str | None = None, name: str | None = None, crs=None
) -> gpd.GeoDataFrame:
    """Dissolve all polygons of a vector file into the study area.

    Coordinates that contradict the file's declared CRS (longitude/latitude
    declared as metres, or the reverse) are an error naming the file.
    """
    gdf = read_vector(path, layer=layer)
    if gdf.crs is None:
        raise CRSError(f"study area file {path} has no CRS (no .prj / CRS metadata); "
                       f"re-export it with its CRS (GeoJSON is longitude/latitude)")
    return _one_polygon(gdf.geometry, name=name or Path(path).stem, source=str(path), crs=crs)


def from_bbox(bbox, *, name: str | None = None, crs=None) -> gpd.GeoDataFrame:
    """Build the area from ``(minlon, minlat, maxlon, maxlat)`` in WGS84."""
    if len(bbox) != 4 or not np.all(np.isfinite(np.asarray(bbox, dtype=float))):
        raise AreaError(
            f"a bounding box needs 4 finite numbers (minlon, minlat, maxlon, maxlat), got {bbox!r}"
        )
    minx, miny, maxx, maxy = (float(v) for v in bbox)
    if not (-180 <= minx < maxx <= 180 and -90 <= miny < maxy <= 90):
        raise AreaError(
            f"bounding box {bbox!r} is not (minlon, minlat, maxlon, maxlat) in degrees "
            f"with min < max"
        )
    geom = gpd.GeoSeries([shapely.box(minx, miny, maxx, maxy)], crs="EPSG:4326")
    # densify so the box edges stay straight lines of latitude/longitude once projected
    geom = geom.segmentize(0.001)
    return _one_polygon(
        geom, name=name or f"bbox {minx},{miny},{maxx},{maxy}", source="bounding box (WGS84)",
        crs=crs,
    )


def from_place(query: str, *, crs=None, settings: Settings | None = None) -> gpd.GeoDataFrame:
    """Geocode a place name to its boundary polygon with osmnx (online, cached)."""
    import osmnx as ox

    settings = settings or get_settings()

    def produce():
        with osmnx_configured(settings):
            return ox.geocode_to_gdf(query)[["geometry"]]

    gdf = cached_frame(
        "nominatim", ("place", query), produce, what=f"boundary of {query!r}", settings=settings
    )
    return _one_polygon(gdf.geometry, name=query, source="OpenStreetMap via Nominatim (osmnx)",
                        crs=crs)


def _one_polygon(geoms: gpd.GeoSeries, *, name: str, source: str, crs=None,
                 preset_crs=None) -> gpd.GeoDataFrame:
    geoms = geoms[~(geoms.is_empty | geoms.isna())]
    polys = geoms[geoms.geom_type.isin(["Polygon", "MultiPolygon"])]
    if polys.empty:
        raise AreaError(
            f"study area {name!r} from {source} has no polygon "
            f"(geometry types: {sorted(set(geoms.geom_type))})"
        )
    check_coordinates(polys, what=f"study area {name!r} ({source})", area=True)
    polys = to_crs(polys, area_crs(polys, crs=crs, preset_crs=preset_crs),
                   what=f"study area {name!r}")
    geom = shapely.union_all(shapely.make_valid(np.asarray(polys.values)))
    # dissolving municipality files leaves hairline slivers along shared borders: close them
    geom = shapely.make_valid(geom.buffer(0.5).buffer(-0.5))
    if geom.is_empty or geom.area <= 0:
        raise AreaError(f"study area {name!r} from {source} has zero area")
    out = gpd.GeoDataFrame(
        {"name": [name], "source": [source], "area_ha": [geom.area / 10_000.0]},
        geometry=[geom],
        crs=polys.crs,
        index=pd.Index(["area"], name="area"),
    )
    logger.info("study area %r: %.0f ha from %s, in %s", name, out["area_ha"].iloc[0], source,
                crs_label(out.crs))
    return out
