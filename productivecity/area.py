"""Study areas: named presets, polygon files, bounding boxes and place names.

A study area is a one-row GeoDataFrame in EPSG:31370 with columns ``name``,
``source`` and ``area_ha``. Every layer loader clips to it.

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

from productivecity._errors import AreaError, DataSourceError
from productivecity._online import cached_frame, osmnx_configured
from productivecity._validate import to_project_crs
from productivecity.settings import PROJECT_CRS, Settings, get_settings
from productivecity.sources import regions
from productivecity.sources._read import read_vector
from productivecity.sources.catalog import DataDir, missing_message, sample_data_dir
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
    nis5 : tuple of str
        Member municipalities by code (the ``nis5`` index of the municipality layer).
    place_queries : tuple of str
        Nominatim queries, one per member, for the online path.
    data_dir : Path or None
        Default data directory (the shipped sample), or None.
    """

    name: str
    title: str
    nis5: tuple[str, ...]
    place_queries: tuple[str, ...]
    data_dir: Path | None = None


#: The synthetic sample shipped with the package; region plug-ins add their own presets.
SAMPLE = Preset(
    name="sample",
    title="Sample Canal Town (synthetic sample data)",
    nis5=("99001", "99002", "99003"),
    place_queries=(),
    data_dir=sample_data_dir(),
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
    settings: Settings | None = None,
) -> gpd.GeoDataFrame:
    """Resolve a study area into one polygon in EPSG:31370.

    Parameters
    ----------
    spec : str, path, tuple, shapely geometry or GeoDataFrame
        - a preset name (see :func:`preset_names`);
        - a path to any polygon vector file (all features are dissolved);
        - ``"bbox:minlon,minlat,maxlon,maxlat"`` or a 4-tuple in longitude/latitude;
        - ``"place:Some Town, Country"`` (online: geocoded with osmnx);
        - a shapely geometry (taken as EPSG:31370) or a GeoDataFrame/GeoSeries with a CRS.
    data_dir : path-like, optional
        Data directory whose ``municipalities`` file builds presets.
    municipalities : path-like, optional
        Explicit municipality boundary file for presets (overrides ``data_dir``).
    name : str, optional
        Name given to the area (default derived from ``spec``).
    settings : Settings, optional
        Online/offline and cache settings.

    Returns
    -------
    GeoDataFrame
        One row; columns ``name`` (str), ``source`` (str: where the polygon
        came from), ``area_ha`` (float, hectares); CRS EPSG:31370.

    Examples
    --------
    >>> from productivecity.area import study_area
    >>> area = study_area("sample")
    >>> area.crs.to_epsg(), round(float(area["area_ha"].iloc[0]))
    (31370, 1200)
    """
    settings = settings or get_settings()
    if isinstance(spec, gpd.GeoDataFrame | gpd.GeoSeries):
        gdf = to_project_crs(
            gpd.GeoDataFrame(
                geometry=spec.geometry if isinstance(spec, gpd.GeoDataFrame) else spec
            ),
            what="study area",
        )
        return _one_polygon(gdf.geometry, name=name or "custom area", source="GeoDataFrame")
    if isinstance(spec, BaseGeometry):
        return _one_polygon(
            gpd.GeoSeries([spec], crs=PROJECT_CRS),
            name=name or "custom area",
            source="geometry (taken as EPSG:31370)",
        )
    if isinstance(spec, tuple | list):
        return from_bbox(spec, name=name)
    text = str(spec)
    if text in PRESETS:
        return from_preset(
            text, data_dir=data_dir, municipalities=municipalities, settings=settings
        )
    if text.startswith("bbox:"):
        try:
            values = tuple(float(v) for v in text[5:].split(","))
        except ValueError:
            raise AreaError(
                f"cannot read bounding box {text!r}; expected 'bbox:minlon,minlat,maxlon,maxlat'"
            ) from None
        return from_bbox(values, name=name)
    if text.startswith("place:"):
        return from_place(text[6:].strip(), settings=settings)
    path = Path(text).expanduser()
    if path.suffix and (path.exists() or os.sep in text or "/" in text):
        return from_file(path, name=name)
    raise AreaError(
        f"unknown study area {text!r}: expected a preset ({', '.join(preset_names())}), a polygon "
        f"file, 'bbox:minlon,minlat,maxlon,maxlat' or 'place:<name>' (online)"
    )


def from_preset(
    preset: str,
    *,
    data_dir: str | os.PathLike | None = None,
    municipalities: str | os.PathLike | None = None,
    settings: Settings | None = None,
) -> gpd.GeoDataFrame:
    """Build a preset area by dissolving its member municipalities (see :data:`PRESETS`)."""
    settings = settings or get_settings()
    if preset not in PRESETS:
        raise AreaError(f"unknown area preset {preset!r}; presets are {preset_names()}")
    p = PRESETS[preset]
    members = preset_municipalities(
        preset, data_dir=data_dir, municipalities=municipalities, settings=settings
    )
    source = members.attrs.get("source", "municipality boundaries")
    return _one_polygon(members.geometry, name=p.name, source=source)


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
        missing = [c for c in p.nis5 if c not in muni.index]
        if missing:
            raise AreaError(
                f"{path} lacks municipalities {missing} of preset {preset!r} "
                f"(expected municipality codes {list(p.nis5)})"
            )
        out = muni.loc[list(p.nis5)]
        out.attrs["source"] = str(path)
        return out
    if not p.place_queries:
        raise DataSourceError(
            missing_message("municipalities", Path(data_dir) if data_dir else None)
        )
    alternative = "Or " + missing_message("municipalities", Path(data_dir) if data_dir else None)
    gdf = cached_frame(
        "nominatim",
        ("preset", p.name, p.place_queries),
        lambda: _geocode_members(p),
        what=f"boundaries of preset {p.name!r}",
        settings=settings,
        alternative=alternative,
    )
    gdf = to_project_crs(gdf, what=f"geocoded boundaries of preset {p.name!r}")
    out = gpd.GeoDataFrame(
        {"name": gdf["name"].to_numpy()},
        geometry=gdf.geometry.to_numpy(),
        index=pd.Index(gdf["nis5"].to_numpy(), name="nis5"),
        crs=gdf.crs,
    )
    out.attrs["source"] = "OpenStreetMap via Nominatim (osmnx)"
    return out


def _geocode_members(p: Preset) -> gpd.GeoDataFrame:
    import osmnx as ox

    with osmnx_configured():
        gdf = ox.geocode_to_gdf(list(p.place_queries))
    gdf = gdf[["geometry"]].copy()
    gdf["nis5"] = list(p.nis5)
    gdf["name"] = [q.split(",")[0] for q in p.place_queries]
    return gdf


def from_file(
    path: str | os.PathLike, *, layer: str | None = None, name: str | None = None
) -> gpd.GeoDataFrame:
    """Dissolve all polygons of a vector file into the study area."""
    gdf = read_vector(path, layer=layer)
    return _one_polygon(gdf.geometry, name=name or Path(path).stem, source=str(path))


def from_bbox(bbox, *, name: str | None = None) -> gpd.GeoDataFrame:
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
    geom = geom.segmentize(0.001).to_crs(PROJECT_CRS)
    return _one_polygon(
        geom, name=name or f"bbox {minx},{miny},{maxx},{maxy}", source="bounding box (WGS84)"
    )


def from_place(query: str, *, settings: Settings | None = None) -> gpd.GeoDataFrame:
    """Geocode a place name to its boundary polygon with osmnx (online, cached)."""
    import osmnx as ox

    settings = settings or get_settings()

    def produce():
        with osmnx_configured(settings):
            return ox.geocode_to_gdf(query)[["geometry"]]

    gdf = cached_frame(
        "nominatim", ("place", query), produce, what=f"boundary of {query!r}", settings=settings
    )
    gdf = to_project_crs(gdf, what=f"geocoded boundary of {query!r}")
    return _one_polygon(gdf.geometry, name=query, source="OpenStreetMap via Nominatim (osmnx)")


def _one_polygon(geoms: gpd.GeoSeries, *, name: str, source: str) -> gpd.GeoDataFrame:
    geoms = geoms[~(geoms.is_empty | geoms.isna())]
    polys = geoms[geoms.geom_type.isin(["Polygon", "MultiPolygon"])]
    if polys.empty:
        raise AreaError(
            f"study area {name!r} from {source} has no polygon "
            f"(geometry types: {sorted(set(geoms.geom_type))})"
        )
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
    logger.info("study area %r: %.0f ha from %s", name, out["area_ha"].iloc[0], source)
    return out
