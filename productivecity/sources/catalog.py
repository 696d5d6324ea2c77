"""Find input files in a data directory.

A data directory holds the raw inputs of a study area in sub-folders
(``osm/``, ``boundaries/``, ``stats/``, ``population/``, ``labour/``,
``transit/``). :class:`DataDir` finds each kind of source by the glob
patterns below, first match wins, and when a source is missing says which
file would provide it. Region plug-ins (:mod:`productivecity.sources.regions`)
add their own kinds and extra patterns for the generic kinds: :data:`SOURCES`
is the merged catalogue. The sample shipped with the package and the regions'
test beds follow this layout; any user folder that follows it works too, and
every loader also takes explicit file paths.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from productivecity._errors import DataSourceError, SourceNotFoundError, UnknownKeyError
from productivecity.sources import regions


@dataclasses.dataclass(frozen=True)
class SourceKind:
    """One kind of input file.

    Attributes
    ----------
    patterns : tuple of str
        Glob patterns relative to the data directory, in order of preference.
    provides : str
        What the file gives, for messages.
    hint : str
        Where to get such a file, for the error when none is found.
    folder : bool
        The file found stands for its whole folder (a GTFS feed: ``stops.txt`` with
        ``routes.txt``, ``trips.txt``, ...); every file of the folder is an input.
    """

    patterns: tuple[str, ...]
    provides: str
    hint: str
    folder: bool = False


#: The generic kinds; the regions' kinds and patterns are merged in :data:`SOURCES`.
GENERIC_SOURCES: dict[str, SourceKind] = {
    "municipalities": SourceKind(
        (
            "boundaries/**/*municipalit*.gpkg",
            "boundaries/**/*municipalit*.geojson",
            "boundaries/**/*municipalit*topojson*.json",
        ),
        "municipality polygons with codes",
        "any vector file with 'code' and 'name' columns, saved as "
        "boundaries/municipalities.gpkg",
    ),
    "neighbourhoods": SourceKind(
        (
            "boundaries/**/*neighbourhood*.gpkg",
            "boundaries/**/*neighbourhood*.geojson",
        ),
        "neighbourhood polygons with codes",
        "boundaries/neighbourhoods.gpkg with 'code' and 'name' columns",
    ),
    "osm_pmtiles_landuse": SourceKind(
        ("osm/**/landuse.pmtiles",),
        "OSM landuse vector tiles",
        "a PMTiles archive of OSM landuse (e.g. built with tippecanoe --generate-ids)",
    ),
    "osm_pmtiles_water": SourceKind(
        ("osm/**/water.pmtiles",),
        "OSM water and waterway vector tiles",
        "a PMTiles archive of OSM water features",
    ),
    "osm_pmtiles_green": SourceKind(
        ("osm/**/green.pmtiles",), "OSM parks, woods and grass vector tiles",
        "a PMTiles archive of OSM green areas",
    ),
    "osm_pmtiles_poi": SourceKind(
        ("osm/**/poi.pmtiles",),
        "OSM points of interest vector tiles",
        "a PMTiles archive of OSM points of interest",
    ),
    "osm_pmtiles_railway": SourceKind(
        ("osm/**/railway.pmtiles",),
        "OSM railway, tram and stop vector tiles",
        "a PMTiles archive of OSM railway features",
    ),
    "osm_pmtiles_buildings": SourceKind(
        ("osm/**/buildings.pmtiles",),
        "OSM building footprint vector tiles",
        "a PMTiles archive of OSM buildings (e.g. built with tippecanoe --generate-ids)",
    ),
    "osm_pbf": SourceKind(
        ("osm/**/*.osm.pbf", "osm/**/*.pbf", "*.osm.pbf"),
        "a raw OSM extract (PBF)",
        "an OSM PBF extract of the area (e.g. from Geofabrik) saved as osm/<name>.osm.pbf",
    ),
    "osm_xml": SourceKind(
        ("osm/**/*.osm", "*.osm"),
        "a raw OSM extract (XML)",
        "an OSM XML file of the area saved as osm/<name>.osm",
    ),
    "osm_extent": SourceKind(
        ("osm/**/*extent*.geojson", "osm/**/*coverage*.geojson", "osm/**/*extent*.gpkg",
         "boundaries/osm_*boundary*.geojson"),
        "the polygon an OSM extract was clipped to (where its features are complete)",
        "the extract's clipping polygon (e.g. the .poly / boundary used with osmium extract) "
        "saved as osm/extent.geojson; without it, coverage is estimated from the data",
    ),
    "gtfs": SourceKind(
        ("transit/**/stops.txt",),
        "GTFS stops (stops.txt, with routes.txt where present)",
        "an operator's GTFS feed unzipped into transit/<operator>/",
        folder=True,
    ),
}


def _merged(kind: str, active) -> SourceKind | None:
    """Return the entry of ``kind`` as if only the ``active`` regions were registered."""
    if kind in GENERIC_SOURCES:
        return _catalogue(active).get(kind)
    return None


def _catalogue(active=None) -> dict[str, SourceKind]:
    """Merge the generic kinds with every region's patterns and hints, then its own kinds."""
    out = dict(GENERIC_SOURCES)
    for region in (regions.registered() if active is None else active):
        for kind, extra in region.source_patterns.items():
            base = out[kind]
            out[kind] = SourceKind(
                (*extra.before, *base.patterns, *extra.after),
                extra.provides or base.provides,
                f"{extra.hint}, or {base.hint}" if extra.hint else base.hint,
            )
        for kind, spec in region.sources.items():
            out.setdefault(kind, spec)
    return out


#: Every source kind: :data:`GENERIC_SOURCES` merged with the region plug-ins' kinds and
#: patterns (a region's ``before`` patterns are tried first, its ``after`` ones last).
SOURCES = regions.LazyMapping(_catalogue)


class DataDir:
    """A folder of raw inputs laid out as described in this module.

    Parameters
    ----------
    root : path-like
        The data directory. It must exist.

    Examples
    --------
    >>> from productivecity.sources.catalog import DataDir, sample_data_dir
    >>> dd = DataDir(sample_data_dir())
    >>> dd.find("osm_xml").name
    'sample_canal_town.osm'
    """

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root).expanduser()
        if not self.root.is_dir():
            raise DataSourceError(f"data directory {self.root} does not exist or is not a folder")

    def __repr__(self) -> str:
        return f"DataDir({str(self.root)!r})"

    def find(self, kind: str) -> Path | None:
        """Return the first file of ``kind``, or None if the folder has none."""
        spec = _spec(kind)
        for pattern in spec.patterns:
            hits = sorted(p for p in self.root.glob(pattern) if p.is_file())
            if hits:
                return hits[0]
        return None

    def find_all(self, kind: str) -> list[Path]:
        """Return every file of ``kind`` (all patterns), sorted, without duplicates."""
        spec = _spec(kind)
        seen: dict[Path, None] = {}
        for pattern in spec.patterns:
            for p in sorted(self.root.glob(pattern)):
                if p.is_file():
                    seen.setdefault(p, None)
        return list(seen)

    def require(self, kind: str) -> Path:
        """Return the first file of ``kind``; raise :class:`DataSourceError` if there is none."""
        path = self.find(kind)
        if path is None:
            raise SourceNotFoundError(missing_message(kind, self.root))
        return path


def missing_message(kind: str, root: Path | None = None) -> str:
    """Return the message for a missing source of ``kind``: what it provides and where to get it.

    Inside :func:`productivecity.sources.regions.study_area_at` only the hints of the
    regions that hold the study area are offered (a planner in Finland is not sent to
    another country's statistics office).
    """
    spec = _spec(kind)
    active = regions.hint_regions()
    if len(active) < len(regions.registered()):
        spec = _merged(kind, active) or spec
    where = f"in data directory {root}" if root is not None else "(no data directory given)"
    return (
        f"no {spec.provides} found {where}; expected a file matching "
        f"{' or '.join(spec.patterns)}. Provide {spec.hint}"
    )


def _spec(kind: str) -> SourceKind:
    try:
        return SOURCES[kind]
    except KeyError:
        raise UnknownKeyError(f"unknown source kind {kind!r}; known kinds: "
                              f"{sorted(SOURCES)}") from None


def sample_data_dir() -> Path:
    """Return the folder of the synthetic sample shipped with the package.

    The sample is generated by ``scripts/make_sample.py``; it is NOT real data
    (see its README.md) and serves for demos, doctests and a first run.
    """
    return Path(__file__).resolve().parent.parent / "data" / "sample"
