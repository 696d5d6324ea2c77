"""Read and validate a full GTFS feed (zip or folder) for timetable routing.

:func:`read_gtfs` reads ``agency``, ``stops``, ``routes``, ``trips``,
``stop_times``, ``calendar``, ``calendar_dates`` and (optional)
``transfers`` and checks them together: every problem found (a missing file
or column, stop times that go backwards, stops without coordinates, unknown
route, service, trip or stop ids) is listed in ONE :class:`SchemaError`
with the file, the column and the row counts.

Times are seconds after midnight of the service day (``noon minus 12 h``, as
GTFS defines it); times past 24:00 are valid: a trip of Monday's service at
25:10 runs at 01:10 on Tuesday. :meth:`GtfsFeed.services_on` gives the
services running on a date (``calendar`` weekday flags and start/end dates,
``calendar_dates`` exception 1 added, 2 removed);
:func:`productivecity.network.timetable.timetable_from_gtfs` builds the
routing timetable of a date, including the previous day's trips that run
past midnight.

Trips of ``frequencies.txt`` are expanded into one trip per headway
(``exact_times`` is not distinguished). Stop times without a time
(non-timepoints) are interpolated linearly by their position in the trip
between the surrounding timed stops (whole seconds, rounded down); a trip
whose first or last stop has no time is a problem.
"""

from __future__ import annotations

import logging
import os
import zipfile
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from productivecity._errors import (
    DataSourceError,
    ParameterError,
    SchemaError,
    SourceNotFoundError,
)
from productivecity.sources.transit import _read_txt, route_type_mode

logger = logging.getLogger(__name__)

#: Columns each table must have (``calendar``/``calendar_dates``: one of the two files).
REQUIRED_COLUMNS = {
    "stops.txt": ("stop_id",),
    "routes.txt": ("route_id",),
    "trips.txt": ("route_id", "service_id", "trip_id"),
    "stop_times.txt": ("trip_id", "arrival_time", "departure_time", "stop_id", "stop_sequence"),
    "calendar.txt": (
        "service_id",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
        "start_date",
        "end_date",
    ),
    "calendar_dates.txt": ("service_id", "date", "exception_type"),
    "transfers.txt": ("from_stop_id", "to_stop_id", "transfer_type"),
    "frequencies.txt": ("trip_id", "start_time", "end_time", "headway_secs"),
}
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_EXAMPLES_N = 3


@dataclass
class GtfsFeed:
    """A validated GTFS feed.

    Attributes
    ----------
    path : Path
        The zip file or folder read.
    agency : DataFrame
        ``agency.txt`` as strings (empty if absent).
    stops : DataFrame
        ``stop_id``, ``stop_name``, ``lon``, ``lat`` (float, NaN where absent),
        ``location_type`` (int, 0 where blank), ``parent_station`` (str or "").
    routes : DataFrame
        ``route_id``, ``route_short_name``, ``route_type`` and ``mode``
        (:func:`~productivecity.sources.transit.route_type_mode`).
    trips : DataFrame
        ``trip_id``, ``route_id``, ``service_id``.
    stop_times : DataFrame
        ``trip_id``, ``stop_id``, ``stop_sequence`` (int), ``arrival_s`` and
        ``departure_s`` (int32 seconds after the service day's midnight,
        may exceed 86,400), sorted by trip and sequence.
    calendar, calendar_dates, transfers : DataFrame or None
        The tables as read (``transfers`` ``min_transfer_s`` as float, NaN where blank).
    """

    path: Path
    agency: pd.DataFrame
    stops: pd.DataFrame
    routes: pd.DataFrame
    trips: pd.DataFrame
    stop_times: pd.DataFrame
    calendar: pd.DataFrame | None = None
    calendar_dates: pd.DataFrame | None = None
    transfers: pd.DataFrame | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def agency_name(self) -> str:
        """The agencies' names, ``/``-joined (the path's name if ``agency.txt`` has none)."""
        names = self.agency.get("agency_name", pd.Series(dtype=str)).dropna().unique()
        return "/".join(names) if len(names) else self.path.stem

    def service_period(self) -> tuple[date, date]:
        """First and last date any service runs per ``calendar`` and ``calendar_dates``."""
        lo, hi = [], []
        if self.calendar is not None and len(self.calendar):
            lo.append(self.calendar["start_date"].min())
            hi.append(self.calendar["end_date"].max())
        if self.calendar_dates is not None:
            added = self.calendar_dates[self.calendar_dates["exception_type"] == 1]
            if len(added):
                lo.append(added["date"].min())
                hi.append(added["date"].max())
        if not lo:
            raise SchemaError(
                f"GTFS feed {self.path}: calendar.txt and calendar_dates.txt define no service date"
            )
        return min(lo), max(hi)

    def services_on(self, day: date, *, check_period: bool = True) -> set[str]:
        """Service ids running on ``day``.

        Parameters
        ----------
        day : date
            The service day.
        check_period : bool, default True
            Raise if ``day`` is outside :meth:`service_period`.

        Raises
        ------
        ParameterError
            ``day`` is outside the feed's service period (the message gives it).
        """
        day = _as_date(day)
        if check_period:
            lo, hi = self.service_period()
            if not lo <= day <= hi:
                raise ParameterError(
                    f"date {day.isoformat()} is outside the service period of GTFS feed "
                    f"{self.path}: {lo.isoformat()} to {hi.isoformat()}"
                )
        running: set[str] = set()
        if self.calendar is not None and len(self.calendar):
            c = self.calendar
            on = (
                (c["start_date"] <= day)
                & (c["end_date"] >= day)
                & (c[_WEEKDAYS[day.weekday()]] == 1)
            )
            running |= set(c.loc[on, "service_id"])
        if self.calendar_dates is not None and len(self.calendar_dates):
            cd = self.calendar_dates[self.calendar_dates["date"] == day]
            running |= set(cd.loc[cd["exception_type"] == 1, "service_id"])
            running -= set(cd.loc[cd["exception_type"] == 2, "service_id"])
        return running

    def trips_on(self, day: date, *, check_period: bool = True) -> pd.DataFrame:
        """Return the rows of :attr:`trips` whose service runs on ``day``."""
        services = self.services_on(day, check_period=check_period)
        return self.trips[self.trips["service_id"].isin(services)]


def _as_date(day) -> date:
    if isinstance(day, pd.Timestamp):
        return day.date()
    if isinstance(day, date):
        return day
    try:
        return pd.Timestamp(str(day)).date()
    except ValueError as exc:
        raise ParameterError(f"{day!r} is not a date (expected e.g. '2024-12-17')") from exc


class _Source:
    """Tables of a GTFS zip or folder, read as strings with transit's reader."""

    def __init__(self, path: Path):
        self.path = path
        if path.is_dir():
            self.names = {p.name for p in path.iterdir() if p.is_file()}
            self.zip = None
        else:
            try:
                self.zip = zipfile.ZipFile(path)
            except (zipfile.BadZipFile, OSError) as exc:
                raise DataSourceError(
                    f"could not open GTFS feed {path} as a zip file: {exc}"
                ) from exc
            # tables may sit in one sub-folder of the zip
            self.members = {Path(n).name: n for n in self.zip.namelist() if not n.endswith("/")}
            self.names = set(self.members)

    def has(self, name: str) -> bool:
        return name in self.names

    def read(self, name: str) -> pd.DataFrame:
        if self.zip is None:
            return _read_txt(self.path / name)
        with self.zip.open(self.members[name]) as fh:
            try:
                return _read_txt(fh)
            except DataSourceError as exc:
                raise DataSourceError(
                    f"could not read {name} of {self.path} as a GTFS table: {exc.__cause__}"
                ) from exc.__cause__

    def close(self):
        if self.zip is not None:
            self.zip.close()


def _examples(values) -> str:
    vals = list(dict.fromkeys(str(v) for v in values))
    more = ", ..." if len(vals) > _EXAMPLES_N else ""
    return ", ".join(vals[:_EXAMPLES_N]) + more


def _seconds(col: pd.Series) -> np.ndarray:
    """``H:MM:SS`` (hours may exceed 24) → float seconds; NaN where blank or invalid."""
    parts = col.str.extract(r"^\s*(\d{1,3}):([0-5]\d):([0-5]\d)\s*$").astype(float)
    return (parts[0] * 3600 + parts[1] * 60 + parts[2]).to_numpy()


def _dates(col: pd.Series) -> pd.Series:
    return pd.to_datetime(col, format="%Y%m%d", errors="coerce").dt.date


def read_gtfs(path: str | os.PathLike) -> GtfsFeed:
    """Read and validate a GTFS feed for routing.

    Parameters
    ----------
    path : path-like
        A GTFS zip file, or a folder with its ``.txt`` tables.

    Returns
    -------
    GtfsFeed

    Raises
    ------
    SourceNotFoundError
        ``path`` does not exist.
    SchemaError
        One error listing every problem found: missing files or columns,
        unreadable dates or times, trips whose stop times go backwards, stops
        without coordinates, unknown route, service, trip or stop ids.
    """
    path = Path(path)
    if not path.exists():
        raise SourceNotFoundError(f"GTFS feed {path} does not exist (expected a .zip or a folder)")
    src = _Source(path)
    try:
        return _read(src)
    finally:
        src.close()


def _read(src: _Source) -> GtfsFeed:
    problems: list[str] = []
    tables: dict[str, pd.DataFrame | None] = {}
    for name, cols in REQUIRED_COLUMNS.items():
        if not src.has(name):
            tables[name] = None
            if name not in (
                "calendar.txt",
                "calendar_dates.txt",
                "transfers.txt",
                "frequencies.txt",
            ):
                problems.append(f"{name}: file missing")
            continue
        df = src.read(name)
        missing = [c for c in cols if c not in df.columns]
        if missing:
            problems.append(f"{name}: missing column(s) {', '.join(missing)}")
            df = None
        tables[name] = df
    if not (src.has("calendar.txt") or src.has("calendar_dates.txt")):
        problems.append("calendar.txt and calendar_dates.txt: both missing (one is required)")
    agency = src.read("agency.txt") if src.has("agency.txt") else pd.DataFrame()

    stops = _stops(tables["stops.txt"], problems)
    routes = _routes(tables["routes.txt"])
    calendar = _calendar(tables["calendar.txt"], problems)
    calendar_dates = _calendar_dates(tables["calendar_dates.txt"], problems)
    trips = tables["trips.txt"]
    if trips is not None:
        trips = trips[["trip_id", "route_id", "service_id"]].copy()
        dup = trips["trip_id"].duplicated()
        if dup.any():
            problems.append(
                f"trips.txt: {int(dup.sum())} row(s) repeat a trip_id "
                f"({_examples(trips.loc[dup, 'trip_id'])})"
            )
        if routes is not None:
            bad = ~trips["route_id"].isin(routes["route_id"])
            if bad.any():
                problems.append(
                    f"trips.txt: {int(bad.sum())} row(s) with a route_id not in "
                    f"routes.txt, column route_id ({_examples(trips.loc[bad, 'route_id'])})"
                )
        known = set()
        for t in (calendar, calendar_dates):
            if t is not None:
                known |= set(t["service_id"])
        if calendar is not None or calendar_dates is not None:
            bad = ~trips["service_id"].isin(known)
            if bad.any():
                problems.append(
                    f"trips.txt: {int(bad.sum())} row(s) with a service_id not in calendar.txt or "
                    "calendar_dates.txt, column service_id "
                    f"({_examples(trips.loc[bad, 'service_id'])})"
                )
    stop_times = _stop_times(tables["stop_times.txt"], trips, stops, problems)
    if stops is not None and stop_times is not None:
        used = stops["stop_id"].isin(stop_times["stop_id"]) | stops["location_type"].isin([0, 1, 2])
        nocoord = used & (stops["lon"].isna() | stops["lat"].isna())
        if nocoord.any():
            problems.append(
                f"stops.txt: {int(nocoord.sum())} stop(s) without coordinates, columns "
                f"stop_lat/stop_lon ({_examples(stops.loc[nocoord, 'stop_id'])})"
            )
    transfers = _transfers(tables["transfers.txt"], stops, problems)
    freq = tables["frequencies.txt"]
    if freq is not None and stop_times is not None and trips is not None:
        trips, stop_times = _expand_frequencies(freq, trips, stop_times, problems)
    if problems:
        lines = "\n".join(f"  - {p}" for p in problems)
        raise SchemaError(f"GTFS feed {src.path} has {len(problems)} problem(s):\n{lines}")
    return GtfsFeed(
        path=src.path,
        agency=agency,
        stops=stops,
        routes=routes,
        trips=trips,
        stop_times=stop_times,
        calendar=calendar,
        calendar_dates=calendar_dates,
        transfers=transfers,
    )


def _stops(df, problems):
    if df is None:
        return None
    out = pd.DataFrame({"stop_id": df["stop_id"]})
    out["stop_name"] = df.get("stop_name", pd.Series("", index=df.index)).fillna("")
    for col, c in (("lon", "stop_lon"), ("lat", "stop_lat")):
        v = pd.to_numeric(df.get(c, pd.Series(np.nan, index=df.index)), errors="coerce")
        lim = 180 if col == "lon" else 90
        out[col] = v.where(v.abs() <= lim)
    both0 = (out["lon"] == 0) & (out["lat"] == 0)
    out.loc[both0, ["lon", "lat"]] = np.nan
    lt = df.get("location_type", pd.Series("0", index=df.index)).fillna("0").replace("", "0")
    out["location_type"] = pd.to_numeric(lt, errors="coerce").fillna(0).astype(int)
    out["parent_station"] = df.get("parent_station", pd.Series("", index=df.index)).fillna("")
    dup = out["stop_id"].duplicated()
    if dup.any():
        problems.append(
            f"stops.txt: {int(dup.sum())} row(s) repeat a stop_id "
            f"({_examples(out.loc[dup, 'stop_id'])})"
        )
    return out


def _routes(df):
    if df is None:
        return None
    out = pd.DataFrame({"route_id": df["route_id"]})
    out["route_short_name"] = df.get("route_short_name", pd.Series("", index=df.index)).fillna("")
    out["route_type"] = df.get("route_type", pd.Series("", index=df.index)).fillna("")
    out["mode"] = [route_type_mode(t) for t in out["route_type"]]
    return out


def _calendar(df, problems):
    if df is None:
        return None
    out = df[list(REQUIRED_COLUMNS["calendar.txt"])].copy()
    for d in _WEEKDAYS:
        out[d] = pd.to_numeric(out[d], errors="coerce")
    bad_flag = out[list(_WEEKDAYS)].isna().any(axis=1) | ~out[list(_WEEKDAYS)].isin([0, 1]).all(
        axis=1
    )
    if bad_flag.any():
        problems.append(
            f"calendar.txt: {int(bad_flag.sum())} row(s) with weekday flags other "
            "than 0/1, columns monday..sunday"
        )
    for c in ("start_date", "end_date"):
        out[c] = _dates(out[c])
        bad = out[c].isna()
        if bad.any():
            problems.append(
                f"calendar.txt: {int(bad.sum())} row(s) without a YYYYMMDD date, column {c}"
            )
    return out


def _calendar_dates(df, problems):
    if df is None:
        return None
    out = df[["service_id", "date", "exception_type"]].copy()
    out["date"] = _dates(out["date"])
    out["exception_type"] = pd.to_numeric(out["exception_type"], errors="coerce")
    bad = out["date"].isna()
    if bad.any():
        problems.append(
            f"calendar_dates.txt: {int(bad.sum())} row(s) without a YYYYMMDD date, column date"
        )
    bad = ~out["exception_type"].isin([1, 2])
    if bad.any():
        problems.append(
            f"calendar_dates.txt: {int(bad.sum())} row(s) with an exception_type "
            "other than 1 or 2, column exception_type"
        )
    return out


def _stop_times(df, trips, stops, problems):
    if df is None:
        return None
    st = df[["trip_id", "stop_id", "stop_sequence", "arrival_time", "departure_time"]].copy()
    st["stop_sequence"] = pd.to_numeric(st["stop_sequence"], errors="coerce")
    bad = st["stop_sequence"].isna()
    if bad.any():
        problems.append(
            f"stop_times.txt: {int(bad.sum())} row(s) without an integer stop_sequence, "
            "column stop_sequence"
        )
        st = st[~bad]
    if trips is not None:
        bad = ~st["trip_id"].isin(trips["trip_id"])
        if bad.any():
            problems.append(
                f"stop_times.txt: {int(bad.sum())} row(s) with a trip_id not in trips.txt, "
                f"column trip_id ({_examples(st.loc[bad, 'trip_id'])})"
            )
        no_times = ~trips["trip_id"].isin(st["trip_id"])
        if no_times.any():
            logger.info(
                "GTFS trips.txt: %d trip(s) have no stop times and are left out",
                int(no_times.sum()),
            )
    if stops is not None:
        bad = ~st["stop_id"].isin(stops["stop_id"])
        if bad.any():
            problems.append(
                f"stop_times.txt: {int(bad.sum())} row(s) with a stop_id not in stops.txt, "
                f"column stop_id ({_examples(st.loc[bad, 'stop_id'])})"
            )
    st["stop_sequence"] = st["stop_sequence"].astype(np.int64)
    st = st.sort_values(["trip_id", "stop_sequence"], kind="stable").reset_index(drop=True)
    arr = _seconds(st["arrival_time"].fillna(""))
    dep = _seconds(st["departure_time"].fillna(""))
    for col, vals in (("arrival_time", arr), ("departure_time", dep)):
        given = st[col].fillna("").str.strip() != ""
        bad = given.to_numpy() & np.isnan(vals)
        if bad.any():
            problems.append(
                f"stop_times.txt: {int(bad.sum())} row(s) with a time not in H:MM:SS, "
                f"column {col} ({_examples(st.loc[bad, col])})"
            )
    arr = np.where(np.isnan(arr), dep, arr)
    dep = np.where(np.isnan(dep), arr, dep)
    trip = st["trip_id"].to_numpy()
    first = np.r_[True, trip[1:] != trip[:-1]]
    last = np.r_[trip[1:] != trip[:-1], True]
    untimed_ends = (first | last) & np.isnan(arr)
    if untimed_ends.any():
        problems.append(
            f"stop_times.txt: {len(set(trip[untimed_ends]))} trip(s) whose first or last "
            "stop has no time, columns arrival_time/departure_time "
            f"({_examples(trip[untimed_ends])})"
        )
        return None
    if np.isnan(arr).any():
        arr, dep = _interpolate(trip, first, arr, dep)
    back = dep < arr
    back[1:] |= (arr[1:] < dep[:-1]) & ~first[1:]
    if back.any():
        problems.append(
            f"stop_times.txt: {len(set(trip[back]))} trip(s) whose stop times go "
            f"backwards ({int(back.sum())} row(s)), columns arrival_time/departure_time "
            f"({_examples(trip[back])})"
        )
    st = st[["trip_id", "stop_id", "stop_sequence"]].copy()
    st["arrival_s"] = arr.astype(np.int32)
    st["departure_s"] = dep.astype(np.int32)
    return st


def _interpolate(trip, first, arr, dep):
    """Fill untimed stops linearly by position between the timed stops around them."""
    n = len(arr)
    pos = np.arange(n)
    timed = ~np.isnan(arr)
    # previous timed row (ends of trips are timed, so it stays within the trip)
    prev = np.maximum.accumulate(np.where(timed, pos, -1))
    nxt = np.minimum.accumulate(np.where(timed, pos, n)[::-1])[::-1]
    fill = ~timed
    p, q = prev[fill], nxt[fill]
    t = dep[p] + np.floor((arr[q] - dep[p]) * (pos[fill] - p) / (q - p))
    arr = arr.copy()
    dep = dep.copy()
    arr[fill] = t
    dep[fill] = t
    return arr, dep


def _transfers(df, stops, problems):
    if df is None:
        return None
    out = df[["from_stop_id", "to_stop_id", "transfer_type"]].copy()
    out["transfer_type"] = (
        pd.to_numeric(out["transfer_type"].replace("", "0"), errors="coerce").fillna(0).astype(int)
    )
    out["min_transfer_s"] = pd.to_numeric(
        df.get("min_transfer_time", pd.Series(np.nan, index=df.index)), errors="coerce"
    )
    if stops is not None:
        for col in ("from_stop_id", "to_stop_id"):
            bad = out[col].notna() & ~out[col].isin(stops["stop_id"])
            if bad.any():
                problems.append(
                    f"transfers.txt: {int(bad.sum())} row(s) with a stop id not in stops.txt, "
                    f"column {col} ({_examples(out.loc[bad, col])})"
                )
    return out


def _expand_frequencies(freq, trips, st, problems):
    """Replace each trip of ``frequencies.txt`` by one trip per headway.

    The trip's stop times give the running times from its first departure; a
    trip leaves at ``start_time``, then every ``headway_secs`` before
    ``end_time`` (exclusive), whatever ``exact_times`` says. The generated
    trips are ``<trip_id>@<H:MM:SS>``.
    """
    start = _seconds(freq["start_time"].fillna(""))
    end = _seconds(freq["end_time"].fillna(""))
    head = pd.to_numeric(freq["headway_secs"], errors="coerce").to_numpy(float)
    bad = np.isnan(start) | np.isnan(end) | ~(head > 0) | (end < start)
    if bad.any():
        problems.append(
            f"frequencies.txt: {int(bad.sum())} row(s) without valid start_time/end_time "
            "(H:MM:SS, end after start) or a positive headway_secs"
        )
    unknown = ~freq["trip_id"].isin(st["trip_id"])
    if unknown.any():
        problems.append(
            f"frequencies.txt: {int(unknown.sum())} row(s) with a trip_id without stop times, "
            f"column trip_id ({_examples(freq.loc[unknown, 'trip_id'])})"
        )
    ok = ~bad & ~unknown.to_numpy()
    if not ok.any():
        return trips, st
    freq_ids = set(freq["trip_id"][ok])
    base = st.groupby("trip_id", sort=False)["departure_s"].min()
    by_trip = dict(tuple(st[st["trip_id"].isin(freq_ids)].groupby("trip_id", sort=False)))
    template_of = trips.drop_duplicates("trip_id").set_index("trip_id", drop=False)
    new_st, new_trips = [], []
    for tid, a, b, h in zip(freq["trip_id"][ok], start[ok], end[ok], head[ok], strict=True):
        rows = by_trip[tid]
        template = template_of.loc[tid]
        for t0 in np.arange(a, b, h):
            shift = int(t0) - int(base[tid])
            label = f"{tid}@{int(t0) // 3600}:{int(t0) % 3600 // 60:02d}:{int(t0) % 60:02d}"
            new_st.append(
                rows.assign(
                    trip_id=label,
                    arrival_s=(rows["arrival_s"] + shift).astype(np.int32),
                    departure_s=(rows["departure_s"] + shift).astype(np.int32),
                )
            )
            new_trips.append({**template.to_dict(), "trip_id": label})
    st = pd.concat([st[~st["trip_id"].isin(freq_ids)], *new_st], ignore_index=True)
    st = st.sort_values(["trip_id", "stop_sequence"], kind="stable").reset_index(drop=True)
    trips = pd.concat(
        [trips[~trips["trip_id"].isin(freq_ids)], pd.DataFrame(new_trips, columns=trips.columns)],
        ignore_index=True,
    )
    return trips, st
