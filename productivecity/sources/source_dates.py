"""The date of a data source: when its data were taken, not when the file was copied.

:func:`source_date` dates one input file cheaply (never a whole extract):

* an OpenStreetMap PBF: the ``osmosis_replication_timestamp`` or ``timestamp``
  of its header (pyosmium reads only the header);
* an OpenStreetMap XML file: the ``timestamp`` of its ``<osm>`` element or the
  ``osm_base`` of its ``<meta>`` element, else the newest ``timestamp``
  attribute of its elements;
* an OpenStreetMap file without a date inside: a date in its name
  (``2013-01-01``, ``20130101``, ``01_01_2013``), kind ``"name"``;
* anything else (or an OSM file without any date): the file's modification
  date, kind ``"file"``.

Readers that know the period of a table (the year of a statistics table) give
it themselves (``Credit(..., date="2024", date_kind="data")``).
"""

from __future__ import annotations

import bz2
import datetime as _dt
import functools
import gzip
import logging
import os
import re
from pathlib import Path

logger = logging.getLogger(__name__)

#: How to read each kind of date: the date of the data inside the file, a date in
#: the file's name, the file's modification date. Better kinds first.
DATE_KINDS = ("data", "name", "file")

_OSM_XML_SUFFIXES = (".osm", ".osm.xml", ".osm.gz", ".osm.bz2", ".osc")
_HEAD_CHARS = 65536
_TS_RE = re.compile(r"""\btimestamp\s*=\s*["'](\d{4}-\d{2}-\d{2}[^"']*)["']""")
_BASE_RE = re.compile(r"""<meta\b[^>]*\bosm_base\s*=\s*["'](\d{4}-\d{2}-\d{2}[^"']*)["']""")
_ROOT_RE = re.compile(r"<osm\b[^>]*>", re.S)
_NAME_RES = (
    (re.compile(r"(?<!\d)((?:19|20)\d{2})[-_.]?(0[1-9]|1[0-2])[-_.]?(0[1-9]|[12]\d|3[01])(?!\d)"),
     (1, 2, 3)),
    (re.compile(r"(?<!\d)(0[1-9]|[12]\d|3[01])[-_.](0[1-9]|1[0-2])[-_.]((?:19|20)\d{2})(?!\d)"),
     (3, 2, 1)),
)


def _day(value: str) -> str | None:
    """Return the ISO day of an OSM timestamp (``2013-01-01T00:00:00Z``), None if not one."""
    m = re.match(r"\d{4}-\d{2}-\d{2}", value.strip())
    return m.group(0) if m else None


def _is_osm_xml(name: str) -> bool:
    return name.lower().endswith(_OSM_XML_SUFFIXES)


def _open_text(path: Path):
    name = path.name.lower()
    if name.endswith(".gz"):
        return gzip.open(path, "rt", encoding="utf-8", errors="replace")
    if name.endswith(".bz2"):
        return bz2.open(path, "rt", encoding="utf-8", errors="replace")
    return open(path, encoding="utf-8", errors="replace")


def osm_xml_date(path: str | os.PathLike) -> str | None:
    """Return the data date (ISO day) of an OSM XML file, None if it has none.

    The ``timestamp`` of the ``<osm>`` element or the ``osm_base`` of a
    ``<meta>`` element (Overpass) when the file states one, else the newest
    ``timestamp`` attribute of its elements (one pass, no XML parsing).
    """
    newest = None
    with _open_text(Path(path)) as f:
        head = f.read(_HEAD_CHARS)
        root = _ROOT_RE.search(head)
        if root:
            m = _TS_RE.search(root.group(0))
            if m:
                return _day(m.group(1))
        m = _BASE_RE.search(head)
        if m:
            return _day(m.group(1))
        chunk, tail = head, ""
        while chunk:
            text = tail + chunk
            for m in _TS_RE.finditer(text):
                d = _day(m.group(1))
                if d and (newest is None or d > newest):
                    newest = d
            tail = text[-200:]  # a timestamp cut at the chunk border is read with the next
            chunk = f.read(1 << 20)
    return newest


def pbf_date(path: str | os.PathLike) -> str | None:
    """Return the date (ISO day) in an OSM PBF's header, None if it has none.

    Reads only the header (``osmosis_replication_timestamp``, else ``timestamp``).
    """
    import osmium

    reader = osmium.io.Reader(str(path), osmium.osm.osm_entity_bits.NOTHING)
    try:
        header = reader.header()
        for key in ("osmosis_replication_timestamp", "timestamp"):
            d = _day(header.get(key, "") or "")
            if d:
                return d
    finally:
        reader.close()
    return None


def name_date(name: str) -> str | None:
    """Return the date (ISO day) written in a file name, None if there is none.

    Examples
    --------
    >>> name_date("01_01_2013_capital_region.osm.pbf")
    '2013-01-01'
    >>> name_date("finland-2024-03-05.osm.pbf")
    '2024-03-05'
    >>> name_date("finland-latest.osm.pbf") is None
    True
    """
    for pattern, (y, mo, d) in _NAME_RES:
        m = pattern.search(name)
        if m:
            return f"{m.group(y)}-{m.group(mo)}-{m.group(d)}"
    return None


def file_date(path: str | os.PathLike) -> str:
    """Return the modification date (ISO day, UTC) of a file, or the newest one in a folder."""
    p = Path(path)
    times = [p.stat().st_mtime]
    if p.is_dir():
        times += [c.stat().st_mtime for c in p.iterdir() if c.is_file()]
    return _dt.datetime.fromtimestamp(max(times), tz=_dt.UTC).date().isoformat()


@functools.lru_cache(maxsize=256)
def _source_date(path: str, _mtime_ns: int, _size: int) -> tuple[str, str]:
    name = Path(path).name
    low = name.lower()
    d = None
    try:
        if low.endswith(".pbf"):
            d = pbf_date(path)
        elif _is_osm_xml(low):
            d = osm_xml_date(path)
    except Exception as exc:  # noqa: BLE001 - a date is a courtesy: fall back to the file's
        logger.debug("%s: no data date read (%s)", path, exc)
    if d:
        return d, "data"
    if low.endswith(".pbf") or _is_osm_xml(low):
        d = name_date(name)
        if d:
            return d, "name"
    return file_date(path), "file"


def source_date(path: str | os.PathLike | None) -> tuple[str, str] | None:
    """Return ``(date, kind)`` of the data in a file, or None when ``path`` is no file or folder.

    Parameters
    ----------
    path : path-like or None
        An input file (or folder, e.g. a GTFS feed).

    Returns
    -------
    tuple of (str, str) or None
        The ISO date and its kind, one of :data:`DATE_KINDS`: ``"data"`` (stated
        in the file), ``"name"`` (written in the file's name) or ``"file"`` (its
        modification date, e.g. the day it was copied).
    """
    if path is None:
        return None
    try:
        st = os.stat(path)
    except (OSError, TypeError, ValueError):
        return None
    return _source_date(str(Path(path).resolve()), st.st_mtime_ns, st.st_size)
