"""All layers of a study area in one call, ready for analysis and export.

:func:`load_layers` resolves the study area, loads every layer from a data
directory (or online), and returns a :class:`LayerSet`: the GeoDataFrames
(in the study area's metric CRS) and one
:class:`~productivecity.sources.load_report.LayerReport` per layer
saying where the features came from and what was repaired, merged, clipped
or skipped.

Layers and their schemas (one row = one ...):

``study_area``
    the study area polygon: ``name``, ``source``, ``area_ha``.
``industrial_zones``
    one OSM landuse=industrial or brownfield object, reassembled from tile
    fragments where needed: index ``zone_id``; ``kind``, ``name``, ``osm_id``,
    ``area_ha``.
``canal``
    one canal centre line (``feature="waterway"``) or canal water polygon
    (``feature="water"``): ``name``, ``length_km`` / ``area_ha``.
``canal_zone``
    the land within ``distance_m`` of the canal: ``distance_m``, ``area_ha``.
``hubs``
    one existing maker-learning hub or kin (package catalogue + user file + the
    hackerspaces, makerspaces and fablabs tagged in the data directory's OSM file):
    index ``hub_id``; ``name``, ``city``, ``type``, ``source_url``, ...
``transit_stops``
    one rail station or tram/metro/bus stop (GTFS and operators' files, else the
    OSM public-transport tags): index ``stop_id``; ``name``, ``mode``,
    ``operator``, ``routes_n``, ``daily_stops_n``.
``units_municipalities`` / ``units_neighbourhoods``
    one municipality (index ``nis5``) / neighbourhood (index ``code``) with
    ``name``, ``population_n`` where known, ``area_ha``.
``poi``
    one point of interest: ``kind`` (vacant_shop, craft, hackerspace,
    makerspace, school, disused), ``tag``, ``name``, ``osm_id``.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import geopandas as gpd
import pandas as pd

from productivecity._console import progress as _progress
from productivecity._errors import (
    DataSourceError,
    EmptyLayerError,
    MissingLayerError,
    SourceNotFoundError,
)
from productivecity.area import PRESETS, study_area
from productivecity.crs import lonlat_centroid
from productivecity.io import write_geopackage
from productivecity.settings import Settings, get_settings
from productivecity.sources import hubs as _hubs
from productivecity.sources import osm as _osm
from productivecity.sources import regions
from productivecity.sources import transit as _transit
from productivecity.sources import units as _units
from productivecity.sources.catalog import sample_data_dir
from productivecity.sources.load_report import LayerReport, area_credit, reports_frame

logger = logging.getLogger(__name__)

#: The layers of a :class:`LayerSet`, in the order they are loaded and written.
LAYER_NAMES = (
    "study_area",
    "industrial_zones",
    "canal",
    "canal_zone",
    "hubs",
    "transit_stops",
    "units_municipalities",
    "units_neighbourhoods",
    "poi",
)

#: Note of a layer report whose layer was left out because its input is absent.
MISSING_NOTE = "left out (missing input)"
#: Note of a layer report whose layer was left out because its source failed.
FAILED_NOTE = "left out (source failed)"

# re-exported single-layer loaders
industrial_zones = _osm.industrial_zones
canal = _osm.canal
canal_zone = _osm.canal_zone
poi = _osm.poi
hubs = _hubs.hubs
transit_stops = _transit.transit_stops
municipalities = _units.municipalities
neighbourhoods = _units.neighbourhoods


@dataclasses.dataclass
class LayerSet:
    """The layers of one study area and how they were obtained.

    Attributes
    ----------
    layers : dict of str to GeoDataFrame
        Layer name to data, all in the study area's CRS, in :data:`LAYER_NAMES` order.
    reports : list of LayerReport
        One report per layer (also for layers left out, with the reason).
    data_dir : Path or None
        The data directory used.

    Examples
    --------
    >>> import productivecity as pc
    >>> layers = pc.load_layers("sample", progress=False)
    >>> list(layers.layers)[:4]
    ['study_area', 'industrial_zones', 'canal', 'canal_zone']
    >>> len(layers["transit_stops"]), layers["transit_stops"].crs.to_epsg()
    (23, 31370)
    >>> int(layers.summary().loc["industrial_zones", "features_n"])
    8
    """

    layers: dict[str, gpd.GeoDataFrame]
    reports: list[LayerReport]
    data_dir: Path | None = None

    def __getitem__(self, name: str) -> gpd.GeoDataFrame:
        try:
            return self.layers[name]
        except KeyError:
            raise MissingLayerError(self._missing_message(name)) from None

    def optional(self, name: str) -> gpd.GeoDataFrame | None:
        """Return layer ``name``, or None when it was left out or is empty (an optional input)."""
        gdf = self.layers.get(name)
        return gdf if gdf is not None and len(gdf) else None

    def _missing_message(self, name: str) -> str:
        """Why layer ``name`` is not here, and which layers are."""
        loaded = f"loaded layers: {', '.join(self.layers) or 'none'}"
        if name not in LAYER_NAMES:
            return (f"no layer {name!r}: not a layer name (expected one of "
                    f"{', '.join(LAYER_NAMES)}); {loaded}")
        notes = [n for r in self.reports if r.layer == name for n in r.notes]
        why = "; ".join(notes) or "its source is missing"
        return f"layer {name!r} is needed here but was not loaded ({why}); {loaded}"

    def missing_inputs(self) -> pd.DataFrame:
        """Return the layers left out, and why: every problem of the inputs at once.

        Returns
        -------
        DataFrame
            Index ``layer``; columns ``status`` (``"missing"``: no source in the
            data directory or no feature in the area; ``"failed"``: a source that
            could not be read) and ``reason`` (the message naming the file that
            would provide it, or the error).
        """
        rows = []
        for rep in self.reports:
            if rep.layer in self.layers:
                continue
            for note in rep.notes:
                for prefix, status in ((MISSING_NOTE, "missing"), (FAILED_NOTE, "failed")):
                    if note.startswith(prefix + ": "):
                        rows.append({"layer": rep.layer, "status": status,
                                     "reason": note[len(prefix) + 2:]})
        return pd.DataFrame(rows, columns=["layer", "status", "reason"]).set_index("layer")

    def summary(self) -> pd.DataFrame:
        """Return one row per layer: features, total hectares / kilometres and what was fixed.

        Columns: ``features_n``, ``area_ha`` (polygons), ``length_km`` (lines),
        ``read_n``, ``merged_fragments_n``, ``repaired_n``, ``outside_area_n``,
        ``skipped``, ``sources``.
        """
        rep = reports_frame(self.reports)
        rows = []
        for name in rep.index:
            gdf = self.layers.get(name)
            area = length = float("nan")
            if gdf is not None and len(gdf):
                geom = gdf.geometry
                poly = geom.geom_type.isin(["Polygon", "MultiPolygon"])
                line = geom.geom_type.isin(["LineString", "MultiLineString"])
                area = float(geom[poly].area.sum() / 10_000) if poly.any() else float("nan")
                length = float(geom[line].length.sum() / 1_000) if line.any() else float("nan")
            rows.append({"layer": name, "area_ha": area, "length_km": length})
        sizes = pd.DataFrame(rows).set_index("layer")
        cols = [
            "features_n",
            "read_n",
            "merged_fragments_n",
            "repaired_n",
            "outside_area_n",
            "skipped",
            "sources",
            "notes",
        ]
        return sizes.join(rep[cols])[["features_n", "area_ha", "length_km", *cols[1:]]]

    def to_gpkg(self, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
        """Write every layer into one GeoPackage, atomically (see :func:`io.write_geopackage`)."""
        return write_geopackage(
            {
                name: gdf.reset_index() if gdf.index.name else gdf
                for name, gdf in self.layers.items()
            },
            path,
            overwrite=overwrite,
        )


def load_layers(
    area="sample",
    *,
    data_dir: str | os.PathLike | None = None,
    online: bool = False,
    canal_buffer_m: float = 500.0,
    canal_names: Sequence[str] | None = None,
    hubs_path: str | os.PathLike | None = None,
    skip_missing: bool = False,
    progress: bool = True,
    crs=None,
    settings: Settings | None = None,
) -> LayerSet:
    """Load every layer of a study area.

    Parameters
    ----------
    area : str, path, tuple or GeoDataFrame, default "sample"
        Anything :func:`productivecity.area.study_area` accepts.
    data_dir : path-like, optional
        Folder of raw inputs (layout in :mod:`productivecity.sources.catalog`).
        Default: the preset's own data (the shipped synthetic sample for
        ``"sample"``); none otherwise.
    online : bool, default False
        Download what the data directory lacks through osmnx (cached).
    canal_buffer_m : float, default 500
        Width of the ``canal_zone`` buffer in metres.
    canal_names : sequence of str, optional
        The waterways that make the canal, by name (``name``, ``name:nl`` or
        ``name:fr``, case-insensitive); default: the navigable canal found
        from the OSM tags (see :func:`productivecity.sources.osm.canal`).
    hubs_path : path-like, optional
        The user's own hubs file, added to the package catalogue.
    skip_missing : bool, default False
        Leave out a layer whose source is there but cannot be read (reported,
        see :meth:`LayerSet.missing_inputs`) instead of raising. A layer whose
        source is absent (no file in the data directory, no feature in the
        area) is always left out and reported: only the study area is required.
    progress : bool, default True
        Show a progress bar.
    crs : str, int or pyproj.CRS, optional
        The metric CRS of every layer (default: the preset's, else the area
        file's when true to scale, else the UTM zone of the area; see
        :func:`productivecity.crs.area_crs`).
    settings : Settings, optional
        Cache and online settings.

    Returns
    -------
    LayerSet

    Raises
    ------
    DataSourceError
        A layer's source is there but cannot be read (truncated, wrong
        format), unless ``skip_missing``.

    Warns
    -----
    DataQualityWarning
        Per layer whose input had invalid geometries (repaired) or defective
        records (skipped: no coordinates, no geometry, duplicate ids); the
        counts are also in the layer's report.

    Examples
    --------
    >>> from productivecity.layers import load_layers
    >>> ls = load_layers("sample", progress=False)
    >>> sorted(ls.layers) == sorted(LAYER_NAMES)
    True
    """
    settings = settings or get_settings()
    if data_dir is None and isinstance(area, str) and area in PRESETS:
        data_dir = PRESETS[area].data_dir
    data_dir = Path(data_dir) if data_dir is not None else None
    if data_dir is not None and not data_dir.is_dir():
        raise DataSourceError(f"data directory {data_dir} does not exist or is not a folder")
    if data_dir == sample_data_dir():
        logger.warning("using the SYNTHETIC sample data shipped with the package (not real data)")

    area_gdf = study_area(area, data_dir=data_dir, crs=crs, settings=settings)
    report = LayerReport(
        "study_area", sources=[str(area_gdf["source"].iloc[0])], read_n=1, features_n=1
    )
    report.credit(*area_credit(report.sources[0]), source=report.sources[0])
    layers: dict[str, gpd.GeoDataFrame] = {"study_area": area_gdf}
    reports: list[LayerReport] = [report]
    src = {"data_dir": data_dir, "online": online, "settings": settings}
    steps: list[tuple[str, Callable[[], tuple[gpd.GeoDataFrame, LayerReport]]]] = [
        ("industrial_zones", lambda: industrial_zones(area_gdf, **src)),
        ("canal", lambda: canal(area_gdf, names=canal_names, **src)),
        (
            "canal_zone",
            lambda: canal_zone(layers["canal"], distance_m=canal_buffer_m, area=area_gdf),
        ),
        ("hubs", lambda: hubs(area_gdf, path=hubs_path, data_dir=data_dir)),
        ("transit_stops", lambda: transit_stops(area_gdf, data_dir=data_dir)),
        ("units_municipalities", lambda: municipalities(area_gdf, data_dir=data_dir)),
        ("units_neighbourhoods", lambda: neighbourhoods(area_gdf, data_dir=data_dir)),
        ("poi", lambda: poi(area_gdf, **src)),
    ]
    at = lonlat_centroid(area_gdf)
    bar = _progress(steps, desc="layers", unit="layer", disable=not progress)
    for name, load in bar:
        bar.set_postfix_str(name, refresh=False)  # shown at the next update, after the delay
        if name == "canal_zone" and "canal" not in layers:
            rep = LayerReport(name, notes=[f"{MISSING_NOTE}: no canal layer"])
            reports.append(rep)
            continue
        try:
            with regions.study_area_at(*at):  # hints of the area's own regions only
                gdf, rep = load()
        except (DataSourceError, EmptyLayerError) as exc:
            # an optional input that is absent is left out and named in the report; a source
            # that is there but cannot be read (or a hubs file the user named that gives
            # nothing here) is an error, or under skip_missing a failed source, named too
            named = name == "hubs" and hubs_path is not None
            absent = isinstance(exc, SourceNotFoundError | EmptyLayerError) and not named
            if not absent and not skip_missing:
                raise
            note = MISSING_NOTE if absent else FAILED_NOTE
            reports.append(LayerReport(name, notes=[f"{note}: {exc}"]))
            (logger.info if absent else logger.warning)("layer %s %s: %s", name, note, exc)
            continue
        rep.layer = name
        rep.features_n = len(gdf)
        rep.log()
        rep.warn(stacklevel=2)  # points at the caller of load_layers
        layers[name] = gdf
        reports.append(rep)
    return LayerSet(layers=layers, reports=reports, data_dir=data_dir)
