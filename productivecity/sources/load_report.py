"""What happened to the features of each layer: counts, never silent drops.

Every loader returns, next to its GeoDataFrame, a :class:`LayerReport` that
counts what was read, repaired, merged, clipped away or skipped and why, and
the sources used. The CLI prints the reports as a summary table.

Each reader also declares who to credit for what it read: a :class:`Credit`
(source and licence) added to its report with :meth:`LayerReport.credit`.
Readers that return a table without a report (labour and demand tables) call
:func:`record_credit`, which a run collects per step (:func:`collect_credits`).
The outputs credit exactly these sources
(:mod:`productivecity.outputs.attribution`).
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import logging
import os
import warnings
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from productivecity._errors import DataQualityWarning

logger = logging.getLogger(__name__)

#: Skip reasons that mean the input itself is defective (a record that should have been
#: usable is not), as opposed to records left out by design (other kinds, aggregate rows,
#: outside the area). :meth:`LayerReport.warn` warns about these and about repairs.
DEFECT_REASONS = frozenset({
    "no coordinates",
    "no geometry",
    "no usable geometry",
    "empty geometry",
    "no code",
    "duplicate code (first kept)",
    "duplicate stop id (first kept)",
    "repeated hub id (first kept)",
    "not a polygon or point (e.g. lines, multipoints)",
})


@dataclasses.dataclass(frozen=True)
class Credit:
    """Who to credit for one data source, and under which licence.

    Attributes
    ----------
    key : str
        Identifies the source: credits with the same key are listed once
        (``"osm"``, a region's key such as a statistics office's, ``"gtfs:<agency>"``,
        ``"file:<name>"``).
    text : str
        The attribution as it must appear (``"© OpenStreetMap contributors"``).
    licence : str
        Licence name (``"ODbL"``), "" if unknown.
    url : str
        Where the source or its licence is described, "" if none.
    date : str or None
        When the data were taken (ISO day, a year, or a range ``"a – b"``), None
        if unknown. Set from the source file where the credit is declared
        (:func:`dated_credit`), or by a reader that knows its table's period.
    date_kind : str
        How ``date`` is known: ``"data"`` (stated in the data), ``"name"`` (the
        file's name) or ``"file"`` (the file's modification date); "" without a
        date.

    Examples
    --------
    >>> OSM_CREDIT.line()
    '© OpenStreetMap contributors (ODbL)'
    """

    key: str
    text: str
    licence: str = ""
    url: str = ""
    # the same source whatever its date: credits compare by source and licence
    date: str | None = dataclasses.field(default=None, compare=False)
    date_kind: str = dataclasses.field(default="", compare=False)

    def with_date(self, date, kind: str = "data") -> Credit:
        """Return this credit dated ``date`` (e.g. the year of a statistics table)."""
        return dataclasses.replace(self, date=str(date), date_kind=kind)

    def line(self) -> str:
        """Return the text with the licence in brackets (unless the text names it)."""
        if self.licence and self.licence not in self.text:
            return f"{self.text} ({self.licence})"
        return self.text


#: OpenStreetMap data (extracts, vector tiles of OSM, Overpass, Nominatim).
OSM_CREDIT = Credit("osm", "© OpenStreetMap contributors", "ODbL",
                    "https://www.openstreetmap.org/copyright")
#: The synthetic sample shipped with the package: credited instead of any source read from it.
SAMPLE_CREDIT = Credit("sample", "synthetic sample data of productivecity (not real data)")


def file_credit(path: str | os.PathLike, what: str) -> Credit:
    """Credit a file whose publisher is unknown by its name (``"hubs: my_hubs.csv"``).

    A scenario replaces or completes it with ``[outputs] attribution`` /
    ``attribution_extra``.
    """
    name = Path(path).name
    return Credit(f"file:{name}", f"{what}: {name}")


def area_credit(source: str) -> list[Credit]:
    """Credit of a study area by its ``source``: OpenStreetMap (Nominatim), a file, or none.

    Areas drawn from a bounding box or a geometry in memory credit nothing.
    """
    if source.startswith("OpenStreetMap"):
        return [OSM_CREDIT]
    return [file_credit(source, "study area")] if Path(source).is_file() else []


def gtfs_credit(agency: str | None, folder: str | os.PathLike) -> Credit:
    """Credit a GTFS feed: its agency (``agency.txt``) or, without one, its folder."""
    if agency:
        return Credit(f"gtfs:{agency}", f"{agency} (GTFS)")
    name = Path(folder).name
    return Credit(f"gtfs:{name}", f"GTFS feed {name}")


def dated_credit(credit: Credit, source: str | os.PathLike | None) -> Credit:
    """Return ``credit`` with the date of the data in ``source`` (unless it has a date).

    See :func:`productivecity.sources.source_dates.source_date`.
    """
    if credit.date or source is None:
        return credit
    from productivecity.sources.source_dates import source_date

    found = source_date(source)
    if found is None:
        return credit
    return dataclasses.replace(credit, date=found[0], date_kind=found[1])


def _date_range(date: str) -> list[str]:
    return [d.strip() for d in date.split(" – ") if d.strip()]


def merge_credit(have: Credit, new: Credit) -> Credit:
    """Return ``have`` with the date of ``new`` (same source, another file) folded in.

    A better-known date (``"data"`` before ``"name"`` before ``"file"``) wins;
    dates of the same kind become their range (``"2013-01-01 – 2024-03-01"``).
    """
    if not new.date or new.date == have.date:
        return have
    if not have.date:
        return dataclasses.replace(have, date=new.date, date_kind=new.date_kind)
    rank = {"data": 0, "name": 1, "file": 2}
    r_have, r_new = rank.get(have.date_kind, 3), rank.get(new.date_kind, 3)
    if r_new < r_have:
        return dataclasses.replace(have, date=new.date, date_kind=new.date_kind)
    if r_new > r_have:
        return have
    days = sorted({*_date_range(have.date), *_date_range(new.date)})
    date = days[0] if len(days) == 1 else f"{days[0]} – {days[-1]}"
    return dataclasses.replace(have, date=date)


def _add_credit(got: list[Credit], credit: Credit) -> None:
    """Append ``credit`` to ``got``, or fold its date into the credit of the same key."""
    for i, have in enumerate(got):
        if have.key == credit.key:
            got[i] = merge_credit(have, credit)
            return
    got.append(credit)


def _in_sample(source) -> bool:
    """Return True if ``source`` is a file of the package's synthetic sample."""
    if source is None:
        return False
    from productivecity.sources.catalog import sample_data_dir

    try:
        return Path(source).resolve().is_relative_to(sample_data_dir())
    except (OSError, ValueError):  # pragma: no cover - not a path
        return False


def as_credit(value) -> Credit:
    """Return ``value`` as a :class:`Credit` (also from its dict, as stored in caches)."""
    if isinstance(value, Credit):
        return value
    if isinstance(value, dict):
        return Credit(**value)
    raise TypeError(f"expected a Credit or its dict, got {value!r}")


_COLLECTORS: contextvars.ContextVar[tuple[list[Credit], ...]] = contextvars.ContextVar(
    "productivecity_credit_collectors", default=())


def record_credit(*credits: Credit, source: str | os.PathLike | None = None) -> None:
    """Declare that a reader used the sources credited by ``credits``.

    For readers that return a table without a :class:`LayerReport` (labour and
    demand tables), and for a workflow that uses a layer's report: the credits
    go to every open :func:`collect_credits` (none open: nothing happens). A
    ``source`` file of the package's synthetic sample records
    :data:`SAMPLE_CREDIT` instead.
    """
    for credit in credits:
        credit = dated_credit(SAMPLE_CREDIT if _in_sample(source) else as_credit(credit), source)
        for got in _COLLECTORS.get():
            _add_credit(got, credit)


@contextlib.contextmanager
def collect_credits() -> Iterator[list[Credit]]:
    """Collect the credits recorded (:func:`record_credit`) inside the ``with`` block.

    Examples
    --------
    >>> with collect_credits() as got:
    ...     record_credit(OSM_CREDIT)
    >>> [c.key for c in got]
    ['osm']
    """
    got: list[Credit] = []
    token = _COLLECTORS.set((*_COLLECTORS.get(), got))
    try:
        yield got
    finally:
        _COLLECTORS.reset(token)


@dataclasses.dataclass
class LayerReport:
    """Counts for one layer.

    Attributes
    ----------
    layer : str
        Layer name (``industrial_zones``, ``canal``, ...).
    sources : list of str
        Files or URLs the features came from.
    read_n : int
        Raw records read (tile fragments count one each).
    features_n : int
        Features in the returned layer.
    repaired_n : int
        Invalid geometries repaired with ``make_valid``.
    merged_fragments_n : int
        Tile fragments merged into whole objects.
    outside_area_n : int
        Features outside the study area, left out.
    skipped : dict of str to int
        Other records left out, by reason (e.g. ``"no coordinates"``).
    notes : list of str
        Free-text remarks (missing inputs, caveats).
    credits : list of Credit
        Who to credit for the sources read (see :meth:`credit`).
    """

    layer: str
    sources: list[str] = dataclasses.field(default_factory=list)
    read_n: int = 0
    features_n: int = 0
    repaired_n: int = 0
    merged_fragments_n: int = 0
    outside_area_n: int = 0
    skipped: dict[str, int] = dataclasses.field(default_factory=dict)
    notes: list[str] = dataclasses.field(default_factory=list)
    credits: list[Credit] = dataclasses.field(default_factory=list)

    def __post_init__(self) -> None:
        self.credits = [as_credit(c) for c in self.credits]  # dicts from a cached report

    def credit(self, *credits: Credit, source: str | os.PathLike | None = None) -> None:
        """Credit the sources of this layer (each key once, in order of declaration).

        A ``source`` file of the package's synthetic sample is credited as
        :data:`SAMPLE_CREDIT` instead: the sample credits only itself.
        """
        for c in credits:
            c = dated_credit(SAMPLE_CREDIT if _in_sample(source) else as_credit(c), source)
            _add_credit(self.credits, c)

    def skip(self, reason: str, n: int) -> None:
        """Count ``n`` records left out for ``reason`` (no-op for ``n == 0``)."""
        if n:
            self.skipped[reason] = self.skipped.get(reason, 0) + int(n)

    def absorb(self, sub: LayerReport, *, credits: bool = True, note_prefix: str = "") -> None:
        """Add the counts, sources and notes of ``sub`` (one source of this layer) to this one.

        ``credits=False`` when the layer credits its sources by what it keeps
        (e.g. hubs: only sources with a hub in the area); ``note_prefix`` names
        the source in front of each of its notes.
        """
        self.sources.extend(sub.sources)
        if credits:
            self.credit(*sub.credits)
        self.read_n += sub.read_n
        self.repaired_n += sub.repaired_n
        self.merged_fragments_n += sub.merged_fragments_n
        for reason, n in sub.skipped.items():
            self.skip(reason, n)
        self.notes.extend(f"{note_prefix}{note}" for note in sub.notes)

    def log(self) -> None:
        """Log the counts at INFO, and a warning for anything left out or repaired.

        A report logged again (by the reader, then by the layer or step that kept it)
        warns only about what it did not warn about before.
        """
        logger.info(
            "%s: %d features from %d records (%s)",
            self.layer, self.features_n, self.read_n, ", ".join(self.sources) or "no source",
        )
        warned = self.__dict__.setdefault("_warned", set())  # not a field: not in asdict()

        def warn(*args) -> None:
            if args not in warned:
                warned.add(args)
                logger.warning(*args)

        if self.repaired_n:
            warn("%s: repaired %d invalid geometries", self.layer, self.repaired_n)
        if self.outside_area_n:
            logger.info("%s: %d features outside the study area left out", self.layer,
                        self.outside_area_n)
        for reason, n in self.skipped.items():
            warn("%s: skipped %d records: %s", self.layer, n, reason)
        for note in self.notes:
            logger.info("%s: %s", self.layer, note)

    def defects(self) -> list[str]:
        """Return what was wrong with the input: repaired geometries and defective records."""
        out = []
        if self.repaired_n:
            out.append(f"{self.repaired_n} invalid geometr{'y' if self.repaired_n == 1 else 'ies'}"
                       f" repaired")
        out += [f"{n} record(s) skipped: {reason}" for reason, n in self.skipped.items()
                if reason in DEFECT_REASONS and n]
        return out

    def warn(self, *, stacklevel: int = 1) -> None:
        """Warn :class:`~productivecity.DataQualityWarning` if the input had defects.

        Repaired geometries and records skipped for a defect (:data:`DEFECT_REASONS`:
        no coordinates, no geometry, a duplicate id, ...) are counted in the message;
        records left out by design are not warned about. ``stacklevel`` counts as in
        :func:`warnings.warn`, from the caller of this method.
        """
        defects = self.defects()
        if defects:
            sources = f" ({', '.join(self.sources)})" if self.sources else ""
            warnings.warn(f"{self.layer}{sources}: " + "; ".join(defects)
                          + "; see the layer report", DataQualityWarning,
                          stacklevel=stacklevel + 1)

    def as_dict(self) -> dict:
        """Return a flat dict (skipped reasons joined into one string)."""
        d = dataclasses.asdict(self)
        d["sources"] = "; ".join(self.sources)
        d["skipped"] = "; ".join(f"{k}: {v}" for k, v in self.skipped.items())
        d["notes"] = "; ".join(self.notes)
        d["credits"] = "; ".join(c.line() for c in self.credits)
        return d


def reports_frame(reports: list[LayerReport]) -> pd.DataFrame:
    """Return the reports as one DataFrame indexed by layer."""
    return pd.DataFrame([r.as_dict() for r in reports]).set_index("layer")
