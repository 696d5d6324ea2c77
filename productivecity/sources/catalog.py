"""Find input files in a data directory.

A data directory holds the raw inputs of a study area in sub-folders
(``osm/``, ``boundaries/``, ``stats/``, ``population/``, ``labour/``,
``transit/``). :class:`DataDir` finds each kind of source by the glob
patterns below, first match wins, and when a source is missing says which
file would provide it. The real-data test bed
``../shared/data/brussels-vilvoorde`` and the sample shipped with the package
follow this layout; any user folder that follows it works too, and every
loader also takes explicit file paths.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from productivecity._errors import DataSourceError


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
    """

    patterns: tuple[str, ...]
    provides: str
    hint: str


SOURCES: dict[str, SourceKind] = {
    "municipalities": SourceKind(
        (
            "boundaries/**/gemeente.shp",
            "boundaries/**/*municipalit*.gpkg",
            "boundaries/**/*municipalit*.geojson",
            "boundaries/**/*municipalit*topojson*.json",
        ),
        "municipality polygons with NIS5 codes",
        "Statbel / Provincies in Cijfers 'gemeente.shp' (field geoitem = NIS5), or any vector "
        "file with a 'nis5' column, saved as boundaries/municipalities.gpkg",
    ),
    "neighbourhoods": SourceKind(
        (
            "boundaries/**/ggw7.shp",
            "boundaries/**/*neighbourhood*.gpkg",
            "boundaries/**/*neighbourhood*.geojson",
            "boundaries/**/*quartiers*.gpkg",
        ),
        "neighbourhood polygons with codes",
        "Provincies in Cijfers 'ggw7.shp' (wijken), UrbIS 'Monitoring des Quartiers' (MD) "
        "GeoPackage, or boundaries/neighbourhoods.gpkg with 'code' and 'name' columns",
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
    ),
    "stib_json": SourceKind(
        ("transit/stib/**/stops.json", "transit/**/stops.json"),
        "STIB-MIVB stops as JSON ({stop_id: {name, lat, lon}})",
        "STIB-MIVB open-data stops exported as transit/stib/stops.json",
    ),
    "sncb_stations": SourceKind(
        ("transit/**/irail_stations.csv", "transit/**/stations.csv"),
        "SNCB/NMBS stations with average daily stop counts (iRail)",
        "iRail's stations.csv (github.com/iRail/stations) saved as transit/sncb/irail_stations.csv",
    ),
    "population_municipalities": SourceKind(
        ("stats/*population*municipalit*.csv", "stats/*bevolking*gemeente*.csv"),
        "population per municipality (Statbel)",
        "Statbel population by place of residence per municipality (NIS code, Totaal)",
    ),
    "population_sectors": SourceKind(
        ("population/*statsec*population*.csv", "population/*sector*.csv"),
        "population per statistical sector",
        "Statbel OPENDATA_SECTOREN population per statistical sector",
    ),
    "statsec_ggw7": SourceKind(
        ("boundaries/**/statsec_ggw7.xlsx", "boundaries/**/statsec_ggw7.csv"),
        "a statistical sector → ggw7 wijk lookup (columns statsec, ggw7)",
        "Provincies in Cijfers 'statsec_ggw7.xlsx' (aggregatietabellen) saved under boundaries/",
    ),
    "urbis_quarters": SourceKind(
        ("boundaries/**/*monitoring_quartiers*.gpkg", "boundaries/**/*urbadm_md*.gpkg"),
        "the UrbIS 'Monitoring des Quartiers' quarters of Brussels (mdrc codes)",
        "the UrbIS-Adm MD layer (paradigm.brussels) saved as boundaries/urbis_md.gpkg",
    ),
    "labour_actiris": SourceKind(
        ("labour/actiris*commune*education*.csv", "labour/actiris*.csv"),
        "Actiris job seekers by municipality, year, sex and education level",
        "opendata.brussels.be 'evolution-moyenne-annuelle-demandeurs-d-emploi-inoccupes-par-"
        "commune-genre-niveau-etudes-rbc' CSV",
    ),
    "labour_municipal_rates": SourceKind(
        ("labour/bestcost*municipalities*.csv", "labour/*unemployment*.csv"),
        "unemployment rate and low-education share for all municipalities",
        "BEST-COST MDI municipal indicators (healthiar exdat_prepare_mdi) as CSV",
    ),
}


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
            raise DataSourceError(missing_message(kind, self.root))
        return path


def missing_message(kind: str, root: Path | None = None) -> str:
    """Return the message for a missing source of ``kind``: what it provides and where to get it."""
    spec = _spec(kind)
    where = f"in data directory {root}" if root is not None else "(no data directory given)"
    return (
        f"no {spec.provides} found {where}; expected a file matching "
        f"{' or '.join(spec.patterns)}. Provide {spec.hint}"
    )


def _spec(kind: str) -> SourceKind:
    try:
        return SOURCES[kind]
    except KeyError:
        raise KeyError(f"unknown source kind {kind!r}; known kinds: {sorted(SOURCES)}") from None


def sample_data_dir() -> Path:
    """Return the folder of the synthetic sample shipped with the package.

    The sample is generated by ``scripts/make_sample.py``; it is NOT real data
    (see its README.md) and serves for demos, doctests and a first run.
    """
    return Path(__file__).resolve().parent.parent / "data" / "sample"
