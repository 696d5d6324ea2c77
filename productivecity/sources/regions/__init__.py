"""Region plug-ins: everything that belongs to one country, region or city.

Generic readers (GTFS, vector files, unit tables) know no country. What one
statistics office, code list or transit operator does differently lives in a
region plug-in, a :class:`Region` registered here; the generic code asks the
registry and never names a region. A region provides

* ``presets``: named study areas made of its municipalities;
* ``line_topology_readers``: its transit line sequences (a timetable estimated
  from line topology where no ``stop_times`` exist);
* ``sources`` / ``source_patterns``: data-directory catalogue entries (new
  kinds, and extra glob patterns and hints for the generic kinds);
* ``municipality_codes``: how its municipality files name and write codes;
* ``population_reader``, ``neighbourhood_formats``, ``transit_formats``,
  ``gtfs_line_tables``, ``labour_readers``, ``building_stock_readers``: its own
  file formats;
* ``attribution``: the credit lines of its sources (key → text);
* ``compat``: names it took over from generic modules, still importable
  there (``{module: {name: object}}``, see :func:`compat_attribute`).

The built-in plug-ins (:data:`BUILTIN`) are imported on first use, so that
they may import the generic readers they extend. Add one with
:func:`register`.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import importlib
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from productivecity._errors import UnknownKeyError

#: Modules of the built-in region plug-ins; each defines ``REGION``.
BUILTIN = (
    "productivecity.sources.regions.belgium",
    "productivecity.sources.regions.netherlands",
)

_registered: list[Region] = []
_loaded = False
_version = 0


@dataclasses.dataclass(frozen=True)
class UnitCodes:
    """How a region's municipality files hold their codes.

    Attributes
    ----------
    label : str
        Name of the code for messages (e.g. ``"NIS5"``).
    columns : tuple of str
        Column names recognised as the code, in order of preference; a file
        with one of them is read with this region's rules.
    name_columns : tuple of str
        Column names recognised as the municipality name, in order of preference.
    normalise : callable
        Series of raw codes → Series of code strings.
    pattern : str or None
        Regular expression a municipality code matches in full; rows whose
        code does not (aggregates, regions in mixed files) are left out.
    """

    label: str
    columns: tuple[str, ...]
    name_columns: tuple[str, ...]
    normalise: Callable
    pattern: str | None = None


@dataclasses.dataclass(frozen=True)
class SourcePatterns:
    """A region's additions to a generic catalogue kind.

    ``before`` patterns are tried before the generic ones, ``after`` patterns
    after them; ``hint`` is offered first when no file is found; ``provides``,
    if given, replaces the generic description of what the file gives.
    """

    before: tuple[str, ...] = ()
    after: tuple[str, ...] = ()
    hint: str = ""
    provides: str = ""


@dataclasses.dataclass(frozen=True)
class NeighbourhoodFormat:
    """A region's neighbourhood file format.

    ``accepts(columns)`` tells from a file's column names whether it is in this
    format; ``read(path, data_dir)`` (``data_dir`` a ``DataDir`` or None)
    returns ``(GeoDataFrame, LayerReport)`` in the neighbourhood schema;
    ``after_clip(gdf, report, attrs)``, if given, adds notes once the units
    have been clipped to the study area (``attrs``: those of the read frame).
    """

    name: str
    accepts: Callable[[list[str]], bool]
    read: Callable
    after_clip: Callable | None = None


@dataclasses.dataclass(frozen=True)
class TransitFormat:
    """A region's transit-stop source kind (a catalogue kind of the same name).

    ``read(data_dir)`` returns a list of ``(GeoDataFrame, LayerReport,
    feed_end_date or None)``, empty when the data directory has no such file.
    """

    kind: str
    read: Callable[[Any], list]


@dataclasses.dataclass(frozen=True)
class GtfsLineTable:
    """An operator's extra table linking the stops of a partial GTFS feed to lines.

    ``read(folder, stop_ids)`` returns ``{stop_id: set of line names}`` or None
    when ``folder`` has no ``file``; ``how`` describes the link in reports.
    """

    file: str
    how: str
    read: Callable


@dataclasses.dataclass(frozen=True)
class LineTopologyReader:
    """A region's reader of public-transport line topology (stop sequences, no timetable).

    ``read(data_dir)`` (a ``DataDir``) returns a list of
    :class:`~productivecity.network.line_topology.LineTopology` (stops and line
    sequences, or stations with daily stop counts), empty when the data
    directory has none of its files; ``name`` says what it reads, in messages.
    """

    name: str
    read: Callable[[Any], list]


@dataclasses.dataclass(frozen=True)
class Region:
    """One region plug-in (see the module docstring)."""

    name: str
    title: str
    presets: tuple = ()
    sources: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    source_patterns: Mapping[str, SourcePatterns] = dataclasses.field(default_factory=dict)
    municipality_codes: UnitCodes | None = None
    population_reader: Callable | None = None
    neighbourhood_formats: tuple[NeighbourhoodFormat, ...] = ()
    transit_formats: tuple[TransitFormat, ...] = ()
    gtfs_line_tables: tuple[GtfsLineTable, ...] = ()
    labour_readers: Mapping[str, Callable] = dataclasses.field(default_factory=dict)
    #: Which catalogue kind serves a role of the generic workflow: ``"jobseekers"`` (a table
    #: of job seekers per municipality, read as ``reader(path, year=, names=)`` into
    #: ``jobseekers_n`` and ``jobseekers_low_edu_n``) and ``"unit_rates"`` (``reader(path)``
    #: into ``unemployment_rate_pct`` and ``low_edu_adults_pct``).
    labour_roles: Mapping[str, str] = dataclasses.field(default_factory=dict)
    #: Reference building stock (the completeness check of mapped footprints): catalogue
    #: kind → ``reader(path)`` returning ``buildings_n`` (Series, float) by municipality code.
    building_stock_readers: Mapping[str, Callable] = dataclasses.field(default_factory=dict)
    attribution: Mapping[str, str] = dataclasses.field(default_factory=dict)
    compat: Mapping[str, Mapping[str, Any]] = dataclasses.field(default_factory=dict)
    #: Where the region is, ``(min_lon, min_lat, max_lon, max_lat)``: its file hints are
    #: offered for study areas there only (None: everywhere).
    extent: tuple[float, float, float, float] | None = None
    #: Readers of line topology (:class:`LineTopologyReader`), for a timetable estimated
    #: from stop sequences where no GTFS ``stop_times`` exist.
    line_topology_readers: tuple[LineTopologyReader, ...] = ()

    def covers(self, lon: float, lat: float) -> bool:
        """Return True if the point (degrees) lies in the region's extent (or it has none)."""
        if self.extent is None:
            return True
        x0, y0, x1, y1 = self.extent
        return x0 <= lon <= x1 and y0 <= lat <= y1


#: Where the current study area is (lon, lat), while its inputs are read.
_AREA_AT: contextvars.ContextVar[tuple[float, float] | None] = contextvars.ContextVar(
    "productivecity_area_at", default=None)


@contextlib.contextmanager
def study_area_at(lon: float, lat: float) -> Iterator[None]:
    """Read inputs for a study area at (lon, lat): messages offer its regions' files only.

    A planner in Finland is not told to provide Statbel or CBS tables: hints of a
    region whose :attr:`Region.extent` does not hold the area are left out.
    """
    token = _AREA_AT.set((float(lon), float(lat)))
    try:
        yield
    finally:
        _AREA_AT.reset(token)


def hint_regions() -> tuple[Region, ...]:
    """Return the regions whose file hints apply to the current study area (all if unknown)."""
    at = _AREA_AT.get()
    if at is None:
        return registered()
    return tuple(r for r in registered() if r.covers(*at))


def register(region: Region) -> Region:
    """Add (or replace, by name) a region plug-in; return it."""
    global _version
    _load_builtin()
    _registered[:] = [r for r in _registered if r.name != region.name]
    _registered.append(region)
    _version += 1
    return region


def registered() -> tuple[Region, ...]:
    """Return the registered regions, built-in ones first."""
    _load_builtin()
    return tuple(_registered)


def region(name: str) -> Region:
    """Return the registered region called ``name``."""
    for r in registered():
        if r.name == name:
            return r
    raise UnknownKeyError(f"unknown region {name!r}; regions are {[r.name for r in registered()]}")


def _load_builtin() -> None:
    global _loaded, _version
    if _loaded:
        return
    _loaded = True
    for module in BUILTIN:
        r = importlib.import_module(module).REGION
        if all(x.name != r.name for x in _registered):
            _registered.append(r)
    _version += 1


# --------------------------------------------------------------------------------------------
# Look-ups used by the generic readers
# --------------------------------------------------------------------------------------------


def municipality_codes(columns, *, code_column: str | None = None) -> UnitCodes | None:
    """Return the code rules of the first region whose code columns ``columns`` hold.

    With ``code_column`` only regions that list it are considered. None when
    no region recognises the file.
    """
    cols = set(columns)
    for r in registered():
        uc = r.municipality_codes
        if uc is None:
            continue
        if code_column is not None:
            if code_column in uc.columns:
                return uc
        elif cols.intersection(uc.columns):
            return uc
    return None


def all_municipality_codes() -> list[UnitCodes]:
    """Return the code rules of every region that has some."""
    return [r.municipality_codes for r in registered() if r.municipality_codes is not None]


def population_readers() -> list[Callable]:
    """Return the regions' readers of population per municipality, in order."""
    return [r.population_reader for r in registered() if r.population_reader is not None]


def neighbourhood_format(columns) -> NeighbourhoodFormat | None:
    """Return the first region format that accepts a file with ``columns``, or None."""
    cols = list(columns)
    for r in registered():
        for fmt in r.neighbourhood_formats:
            if fmt.accepts(cols):
                return fmt
    return None


def transit_formats() -> list[TransitFormat]:
    """Return every region's transit source kinds, in registration order."""
    return [f for r in registered() for f in r.transit_formats]


def line_topology_readers() -> list[LineTopologyReader]:
    """Return every region's line-topology readers, in registration order."""
    return [t for r in registered() for t in r.line_topology_readers]


def gtfs_line_tables() -> list[GtfsLineTable]:
    """Return every region's GTFS line tables, in registration order."""
    return [t for r in registered() for t in r.gtfs_line_tables]


def labour_reader(kind: str) -> Callable:
    """Return the reader a region registered for the labour source ``kind``."""
    for r in registered():
        if kind in r.labour_readers:
            return r.labour_readers[kind]
    known = sorted(k for r in registered() for k in r.labour_readers)
    raise UnknownKeyError(f"no region reads labour source {kind!r}; known: {known}")


def building_stock_readers() -> list[tuple[str, Callable]]:
    """Return every region's building-stock ``(catalogue kind, reader)``, in registration order."""
    return [(k, f) for r in registered() for k, f in r.building_stock_readers.items()]


def labour_role_kinds(role: str) -> list[str]:
    """Return the catalogue kinds that serve a labour ``role``, in registration order.

    Roles: ``"jobseekers"`` and ``"unit_rates"`` (see :class:`Region`).
    """
    return [r.labour_roles[role] for r in registered() if role in r.labour_roles]


def presets() -> dict:
    """Return every region's presets by name."""
    return {p.name: p for r in registered() for p in r.presets}


def preset_region(name: str) -> Region | None:
    """Return the region whose presets include ``name`` (None for presets of no region)."""
    for r in registered():
        if any(p.name == name for p in r.presets):
            return r
    return None


def attributions() -> dict[str, str]:
    """Return every region's attribution texts by key."""
    return {k: v for r in registered() for k, v in r.attribution.items()}


def compat_attribute(module: str, name: str):
    """Return ``name`` of generic ``module`` that a region plug-in now holds.

    For the module-level ``__getattr__`` of generic modules, so that readers
    moved into a region stay importable from where they were.
    """
    if not name.startswith("__"):
        for r in registered():
            table = r.compat.get(module, {})
            if name in table:
                return table[name]
    raise AttributeError(f"module {module!r} has no attribute {name!r}")


class LazyMapping(Mapping):
    """A read-only mapping built on first use and rebuilt when a region is registered.

    Module-level tables that merge the regions' contributions (the catalogue,
    the presets) use it, so that importing a generic module never imports a
    region plug-in.
    """

    def __init__(self, build: Callable[[], dict]):
        self._build = build
        self._data: dict | None = None
        self._seen = -1

    def _get(self) -> dict:
        _load_builtin()
        if self._data is None or self._seen != _version:
            self._data = self._build()
            self._seen = _version
        return self._data

    def __getitem__(self, key):
        return self._get()[key]

    def __iter__(self) -> Iterator:
        return iter(self._get())

    def __len__(self) -> int:
        return len(self._get())

    def __repr__(self) -> str:
        return repr(self._get())
