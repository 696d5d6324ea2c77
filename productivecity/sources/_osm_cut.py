"""OSM extracts cut by a bounding box: find what the file lacks, build geometry from what it has.

An extract cut by a bounding box (``osmium extract --strategy simple``, a
download of a box, ...) keeps ways whose nodes lie partly outside the box and
relations whose member ways lie outside it. GDAL's OSM driver then skips the
missing nodes: it bridges the gap in a way with a straight segment, writes
rings of two points that shapely refuses (``Invalid number of points in
LinearRing``), and drops a multipolygon relation with a missing member way
altogether, without saying so.

:func:`read_osm_layer` reads a GDAL OSM layer as raw WKB, so one broken
geometry cannot stop the read, and applies :func:`cut_objects`: one pyosmium
pass over the file (cached per file content) that lists every way lacking
nodes and every ``multipolygon``/``boundary`` relation lacking member ways
(or whose member ways lack nodes). Then

* a way cut in a line layer becomes its runs of two or more consecutive
  nodes present in the file (a MultiLineString when the way leaves the file
  and comes back), never a segment across the gap;
* a closed way or relation cut in the polygon layer keeps the rings made of
  the nodes present, closed straight across the cut (what GDAL writes),
  repaired with ``make_valid``;
* a multipolygon relation GDAL dropped is rebuilt from the parts of its
  member ways in the file: the parts are merged into chains, an open chain
  whose two ends are cut points of ways (a node next to a missing one) is
  closed straight across the cut, inner rings are cut out; a chain ending
  where a whole way meets an absent one (an extract cut along whole ways,
  such as a region extract) is left out rather than closed across land;
* what keeps no line or surface (a way with fewer than two nodes in the
  file, a ring of two points) stays as a row without geometry.

Every such row is marked in the column ``osm_repair``: ``"cut"`` (kept in
part), ``"cut off"`` (no usable geometry left) or ``"repaired"`` (a geometry
shapely could not read, repaired although the object is whole). The layer
readers of :mod:`productivecity.sources.osm` count them in the layer report.
"""

from __future__ import annotations

import configparser
import json
import logging
import math
import os
import struct
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from productivecity._errors import DataSourceError

logger = logging.getLogger(__name__)

#: Column of :func:`read_osm_layer` marking cut and repaired rows.
REPAIR_COLUMN = "osm_repair"
#: Values of :data:`REPAIR_COLUMN`.
CUT, CUT_OFF, REPAIRED = "cut", "cut off", "repaired"

#: Version of the :func:`cut_objects` cache entries (bump when its output changes).
_CUT_SCAN_VERSION = 2
#: Relation types GDAL assembles into the ``multipolygons`` layer.
_AREA_RELATION_TYPES = ("multipolygon", "boundary")

# GDAL's default osmconf.ini (3.x), used when the file cannot be read
_DEFAULT_POLYGON_KEYS = ("aeroway", "amenity", "boundary", "building", "craft", "geological",
                         "historic", "landuse", "leisure", "military", "natural", "office",
                         "place", "shop", "sport", "tourism")
_DEFAULT_POLYGON_TAGS = ("highway=platform", "public_transport=platform")
_DEFAULT_IGNORE = {
    "lines": ("created_by", "converted_by", "source", "time", "ele", "note", "todo",
              "openGeoDB:", "fixme", "FIXME"),
    "multipolygons": ("area", "created_by", "converted_by", "source", "time", "ele", "note",
                      "todo", "openGeoDB:", "fixme", "FIXME"),
}


# --------------------------------------------------------------------------------------
# reading a GDAL OSM layer
# --------------------------------------------------------------------------------------


#: Files up to this size are read once per GDAL layer and filtered in memory (GDAL's OSM
#: driver parses the whole file for every read, whatever the filter).
SHARED_READ_MAX_BYTES = 8 * 1024 * 1024
#: The GDAL layers read that way. Not ``multipolygons``: with an attribute filter GDAL
#: also returns closed ways it leaves out of an unfiltered read (members of a relation
#: the filter drops), so filtering afterwards would not give the same rows.
SHARED_READ_LAYERS = ("points", "lines")
#: GDAL layers kept by :func:`shared_layer` (those of one file).
_SHARED_MAX = len(SHARED_READ_LAYERS)
_SHARED: dict[tuple, tuple] = {}


#: Largest in-memory index GDAL's OSM driver may use (MB): GDAL's own default.
OSM_INDEX_MAX_MB = 100
#: In-memory index per MB of OSM file (PBF or XML): GDAL's index of the nodes and ways of
#: a PBF file takes a few times the file's size (an XML file's, less than its size); 32
#: leaves room enough that a file of up to 3 MB never moves its index to disk (to
#: ``CPL_TMPDIR``, else the working folder), and a larger one gets GDAL's default.
OSM_INDEX_MB_PER_FILE_MB = 32


def osm_open_options(path: Path) -> dict[str, str]:
    """GDAL OSM driver open options for ``path``: its in-memory index sized to the file.

    GDAL's OSM driver indexes the nodes and ways of the file it reads in a temporary
    database held in memory up to ``MAX_TMPFILE_SIZE`` MB (default 100), allocated
    at every open of the file: about 50 ms per read or ``read_info``, whatever the
    file's size. Sized to the file (:data:`OSM_INDEX_MB_PER_FILE_MB` times its size,
    1 to :data:`OSM_INDEX_MAX_MB` MB), a read of a 0.4 MB file takes 20 ms instead of
    70 ms; an index that outgrows it moves to a file on disk, as GDAL does with its
    default. The features read are the same. No option for a file that does not look
    like OSM data (:func:`looks_like_osm`): another driver would warn about it.
    """
    if not looks_like_osm(path):
        return {}
    try:
        size_mb = path.stat().st_size / 2**20
    except OSError:  # the read says what is wrong with the file
        return {}
    mb = min(OSM_INDEX_MAX_MB, max(1, math.ceil(size_mb * OSM_INDEX_MB_PER_FILE_MB)))
    return {"MAX_TMPFILE_SIZE": str(mb)}


def _read_raw(path: Path, layer: str, where: str | None = None):
    """``pyogrio.raw.read`` of an OSM layer (GDAL's warnings muted); one error naming it."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return pyogrio.raw.read(path, layer=layer, where=where, **osm_open_options(path))
    except Exception as exc:
        raise DataSourceError(f"could not read layer {layer!r} of {path}: {exc}") from exc


def looks_like_osm(path: Path) -> bool:
    """Whether the file starts as an OSM PBF (an ``OSMHeader`` blob) or OSM XML (``<osm``)."""
    try:
        with open(path, "rb") as f:
            head = f.read(512)
    except OSError:
        return False
    return b"OSMHeader" in head[:32] or b"<osm" in head


def shares_reads(path: Path, layer: str) -> bool:
    """Whether :func:`read_osm_layer` with ``keep`` reads ``layer`` of ``path`` once."""
    if layer not in SHARED_READ_LAYERS:
        return False
    try:
        small = path.is_file() and path.stat().st_size <= SHARED_READ_MAX_BYTES
    except OSError:
        return False
    return small and looks_like_osm(path)


def shared_layer(path: Path, layer: str) -> tuple[dict, np.ndarray, list[np.ndarray]]:
    """Every feature of a GDAL OSM layer of a small file, read once (the last few kept).

    Returns pyogrio's ``(meta, wkb, fields)``; callers filter, never modify them.
    """
    stat = path.stat()
    key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size, layer)
    if key in _SHARED:
        _SHARED[key] = _SHARED.pop(key)  # most recently used last
        return _SHARED[key]
    meta, _fids, wkb, fields = _read_raw(path, layer)
    while len(_SHARED) >= _SHARED_MAX:
        _SHARED.pop(next(iter(_SHARED)))
    _SHARED[key] = (meta, np.asarray(wkb, dtype=object), list(fields))
    return _SHARED[key]


def clear_shared_reads() -> None:
    """Release the layers :func:`shared_layer` keeps."""
    _SHARED.clear()


def read_osm_layer(path: Path, layer: str, where: str | None, *,
                   keep=None) -> gpd.GeoDataFrame:
    """Read one GDAL OSM layer, repairing what an extract cut by a box breaks.

    Parameters
    ----------
    path : Path
        OSM PBF or XML file.
    layer : str
        GDAL OSM layer (``points``, ``lines``, ``multipolygons``,
        ``multilinestrings``, ``other_relations``).
    where : str or None
        OGR SQL attribute filter.
    keep : callable, optional
        ``keep(field_names, fields)`` -> bool array, the same filter as ``where`` (or
        wider) on the layer's columns: a file of :func:`shares_reads` is then read once
        per layer (:func:`shared_layer`) and filtered with it instead of by GDAL.

    Returns
    -------
    GeoDataFrame
        EPSG:4326; GDAL's columns (``osm_id``, ``osm_way_id``, the attribute
        columns, ``other_tags``), :data:`REPAIR_COLUMN` and ``geometry``;
        rows of objects GDAL dropped (cut off at the edge of the extract, or
        multipolygon relations rebuilt from their members in the file) are
        added with all their tags in ``other_tags``.

    Raises
    ------
    DataSourceError
        GDAL or pyosmium cannot read the file.
    """
    if keep is not None and shares_reads(path, layer):
        meta, wkb, fields = shared_layer(path, layer)
        mask = np.asarray(keep([str(n) for n in meta["fields"]], fields), dtype=bool)
        wkb, fields = wkb[mask], [f[mask] for f in fields]
    else:
        meta, _fids, wkb, fields = _read_raw(path, layer, where)
    names = [str(n) for n in meta["fields"]]
    data = pd.DataFrame({n: np.asarray(f, dtype=object) for n, f in zip(names, fields,
                                                                          strict=True)})
    geoms, repaired = geometries_from_wkb(wkb)
    status = np.where(repaired, REPAIRED, None).astype(object)
    raw = gpd.GeoDataFrame(data.assign(**{REPAIR_COLUMN: status}), geometry=geoms,
                           crs="EPSG:4326")
    if layer in ("lines", "multipolygons"):
        raw = _apply_cuts(raw, layer, cut_objects(path))
    family = {"lines": "line", "multipolygons": "polygon"}.get(layer)
    raw = _validate_marked(raw, family)
    counts = raw[REPAIR_COLUMN].value_counts()
    if len(counts):
        logger.info("%s, layer %s: %d features cut at the edge of the extract kept in part, "
                    "%d cut off (no usable geometry left), %d unreadable geometries repaired",
                    path, layer, counts.get(CUT, 0), counts.get(CUT_OFF, 0),
                    counts.get(REPAIRED, 0))
    return raw


def geometries_from_wkb(wkb) -> tuple[np.ndarray, np.ndarray]:
    """Parse WKB; repair what shapely refuses (too short or unclosed rings, one-point lines).

    Parameters
    ----------
    wkb : array of bytes or None

    Returns
    -------
    geoms : ndarray of shapely geometries (None where nothing usable remains)
    repaired : ndarray of bool
        True where the WKB could not be read as is and a repaired geometry
        (degenerate rings and lines dropped, rings closed) was kept.
    """
    wkb = np.asarray(wkb, dtype=object) if wkb is not None else np.array([], dtype=object)
    geoms = shapely.from_wkb(wkb, on_invalid="ignore")
    repaired = np.zeros(len(wkb), dtype=bool)
    for i in np.flatnonzero(shapely.is_missing(geoms)):
        if wkb[i] is None:
            continue
        try:
            fixed = salvage_wkb(bytes(wkb[i]))
        except (struct.error, ValueError, IndexError):
            fixed = None
        if fixed is not None:
            geoms[i] = fixed
            repaired[i] = True
    return geoms, repaired


def salvage_wkb(buf: bytes):
    """Rebuild a WKB geometry, dropping rings of < 3 distinct points and lines of < 2.

    Unclosed rings are closed. A polygon whose exterior ring is dropped is
    dropped with its holes. Returns None if nothing is left.

    Examples
    --------
    >>> import struct
    >>> ring = struct.pack("<BIII4d", 1, 3, 1, 2, 0.0, 0.0, 1.0, 1.0)  # two points
    >>> salvage_wkb(ring) is None
    True
    """
    parsed, _ = _parse_wkb(buf, 0)
    return _build(parsed)


def _parse_wkb(buf: bytes, pos: int):
    order = "<" if buf[pos] == 1 else ">"
    (code,) = struct.unpack_from(order + "I", buf, pos + 1)
    pos += 5
    base = code & 0x0FFFFFFF  # EWKB flags off: ISO code (1000 Z, 2000 M, 3000 ZM)
    has_z = bool(code & 0x80000000) or base // 1000 in (1, 3)
    has_m = bool(code & 0x40000000) or base // 1000 in (2, 3)
    if code & 0x20000000:  # EWKB SRID
        pos += 4
    gtype = base % 1000
    dims = 2 + has_z + has_m

    def points(pos):
        (n,) = struct.unpack_from(order + "I", buf, pos)
        pos += 4
        xy = np.frombuffer(buf, dtype=order + "f8", count=n * dims, offset=pos)
        return xy.reshape(n, dims)[:, :2].copy(), pos + 8 * n * dims

    if gtype == 1:
        xy = np.frombuffer(buf, dtype=order + "f8", count=dims, offset=pos)[:2]
        return ("point", xy.copy()), pos + 8 * dims
    if gtype == 2:
        xy, pos = points(pos)
        return ("line", xy), pos
    if gtype == 3:
        (nrings,) = struct.unpack_from(order + "I", buf, pos)
        pos += 4
        rings = []
        for _ in range(nrings):
            xy, pos = points(pos)
            rings.append(xy)
        return ("polygon", rings), pos
    if gtype in (4, 5, 6, 7):
        (nparts,) = struct.unpack_from(order + "I", buf, pos)
        pos += 4
        parts = []
        for _ in range(nparts):
            part, pos = _parse_wkb(buf, pos)
            parts.append(part)
        return ({4: "multipoint", 5: "multiline", 6: "multipolygon",
                 7: "collection"}[gtype], parts), pos
    raise ValueError(f"unknown WKB geometry type {code}")


def _distinct_run(xy: np.ndarray) -> np.ndarray:
    """Drop repeated consecutive points."""
    if len(xy) < 2:
        return xy
    keep = np.ones(len(xy), dtype=bool)
    keep[1:] = np.any(np.diff(xy, axis=0) != 0, axis=1)
    return xy[keep]


def _ring(xy: np.ndarray):
    xy = _distinct_run(xy)
    if len(xy) > 1 and np.array_equal(xy[0], xy[-1]):
        xy = xy[:-1]
    if len(np.unique(xy, axis=0)) < 3:
        return None
    return shapely.LinearRing(np.vstack([xy, xy[:1]]))


def _build(parsed):
    kind, data = parsed
    if kind == "point":
        return shapely.Point(data) if np.all(np.isfinite(data)) else None
    if kind == "line":
        xy = _distinct_run(data)
        return shapely.LineString(xy) if len(xy) >= 2 else None
    if kind == "polygon":
        rings = [_ring(r) for r in data]
        if not rings or rings[0] is None:
            return None
        return shapely.Polygon(rings[0], [r for r in rings[1:] if r is not None])
    parts = [g for g in (_build(p) for p in data) if g is not None]
    if not parts:
        return None
    if kind == "multipoint":
        return shapely.MultiPoint(parts)
    if kind == "multiline":
        return shapely.MultiLineString(parts)
    if kind == "multipolygon":
        return shapely.MultiPolygon(parts)
    return shapely.GeometryCollection(parts)


def _validate_marked(raw: gpd.GeoDataFrame, family: str | None) -> gpd.GeoDataFrame:
    """Make the geometries of marked rows valid; a cut row left without geometry is cut off."""
    status = raw[REPAIR_COLUMN].to_numpy(dtype=object).copy()
    marked = np.flatnonzero(pd.notna(status))
    if not len(marked):
        return raw
    geoms = np.asarray(raw.geometry.values, dtype=object).copy()
    for i in marked:
        g = geoms[i]
        if g is not None and not g.is_empty and family is not None:
            if not g.is_valid:
                g = shapely.make_valid(g)
            g = _family_part(g, family)
        if g is None or g.is_empty:
            geoms[i] = None
            status[i] = CUT_OFF if status[i] in (CUT, CUT_OFF) else None
        else:
            geoms[i] = g
    out = raw.copy()
    out[REPAIR_COLUMN] = status
    out[out.geometry.name] = geoms
    return out


def _family_part(geom, family: str):
    ids = (3, 6) if family == "polygon" else (1, 5)
    if shapely.get_type_id(geom) in ids:
        return geom
    parts = [p for p in shapely.get_parts(geom) if shapely.get_type_id(p) in ids]
    if family == "polygon":
        parts = [p for p in parts if p.area > 0]
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else shapely.union_all(parts)


# --------------------------------------------------------------------------------------
# what the file lacks
# --------------------------------------------------------------------------------------


def cut_objects(path: str | os.PathLike) -> gpd.GeoDataFrame:
    """List the ways and area relations of an OSM file that lack nodes or member ways.

    One pyosmium pass for the relations, one for the ways (with node
    locations); cached per file content.

    Parameters
    ----------
    path : path-like
        OSM PBF or XML file.

    Returns
    -------
    GeoDataFrame
        EPSG:4326, one row per cut object: ``osm_element`` (``"way"`` or
        ``"relation"``), ``osm_id`` (int64), ``layer`` (the GDAL layer the
        object belongs to: ``"lines"`` or ``"multipolygons"``), ``refs_n``
        (node refs of a way, member ways of a relation), ``missing_n``
        (those not in the file; for a relation, also member ways that lack
        nodes), ``located_n`` (nodes of a way in the file; member ways in
        the file), ``tags`` (JSON object), ``geometry``: for a way its runs of
        two or more consecutive nodes in the file (LineString or
        MultiLineString, None if none), for a relation the polygon rebuilt
        from its members' parts (None if none). Empty for a complete file.
    """
    from productivecity.sources._layer_cache import cached_geoparquet

    return cached_geoparquet("osm-cut", Path(path), {}, _CUT_SCAN_VERSION,
                             lambda: _scan(Path(path)))


def _scan(path: Path) -> gpd.GeoDataFrame:
    import osmium

    polygon_keys, polygon_tags, _ = _osmconf()
    rels: dict[int, tuple[dict, list[tuple[int, str]]]] = {}
    ways_present: set[int] = set()
    members: dict[int, tuple[list, bool]] = {}  # way id -> (runs, cut)
    rows = []
    missing_refs_n = 0
    try:
        for r in osmium.FileProcessor(str(path), osmium.osm.RELATION):
            tags = {t.k: t.v for t in r.tags}
            if tags.get("type") in _AREA_RELATION_TYPES:
                rels[r.id] = (tags, [(m.ref, m.role) for m in r.members if m.type == "w"])
        member_ids = {ref for _tags, ms in rels.values() for ref, _role in ms}
        fp = (osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY)
              .with_locations()
              .with_filter(osmium.filter.EntityFilter(osmium.osm.WAY)))
        for w in fp:
            nodes = w.nodes
            ok = [nd.location.valid() for nd in nodes]
            cut = not all(ok)
            is_member = w.id in member_ids
            if is_member:
                ways_present.add(w.id)
            if not cut and not is_member:
                continue
            xy = [(nd.location.lon, nd.location.lat) if v else None
                  for nd, v in zip(nodes, ok, strict=True)]
            runs = _runs(xy)
            if is_member:
                members[w.id] = (runs, cut, _cut_ends(xy))
            if not cut:
                continue
            refs = [nd.ref for nd in nodes]
            tags = {t.k: t.v for t in w.tags}
            missing_refs_n += len(refs) - sum(ok)
            closed = len(refs) > 2 and refs[0] == refs[-1]
            area = closed and _is_area(tags, polygon_keys, polygon_tags)
            rows.append({"osm_element": "way", "osm_id": w.id,
                         "layer": "multipolygons" if area else "lines",
                         "refs_n": len(refs), "missing_n": len(refs) - sum(ok),
                         "located_n": sum(ok), "tags": json.dumps(tags, ensure_ascii=False),
                         "geometry": _lines(runs)})
    except RuntimeError as exc:  # osmium reports format errors as RuntimeError
        raise DataSourceError(f"cannot read OSM file {path}: {exc}") from exc
    cut_rels = 0
    for rid, (tags, ms) in rels.items():
        absent = [ref for ref, _ in ms if ref not in ways_present]
        cut_members = [ref for ref, _ in ms if ref in members and members[ref][1]]
        if not absent and not cut_members:
            continue
        cut_rels += 1
        rows.append({"osm_element": "relation", "osm_id": rid, "layer": "multipolygons",
                     "refs_n": len(ms), "missing_n": len(absent) + len(cut_members),
                     "located_n": len(ms) - len(absent),
                     "tags": json.dumps(tags, ensure_ascii=False),
                     "geometry": _rebuild_relation(ms, members)})
    if rows:
        ways_cut = sum(r["osm_element"] == "way" for r in rows)
        logger.info("%s is cut at its edge: %d ways lack %d node refs, %d multipolygon "
                    "relations lack member ways or nodes", path, ways_cut, missing_refs_n,
                    cut_rels)
    columns = ["osm_element", "osm_id", "layer", "refs_n", "missing_n", "located_n", "tags"]
    frame = pd.DataFrame(rows, columns=[*columns, "geometry"])
    return gpd.GeoDataFrame(frame[columns].astype({"osm_id": "int64", "refs_n": "int64",
                                                   "missing_n": "int64",
                                                   "located_n": "int64"}),
                            geometry=gpd.GeoSeries(list(frame["geometry"]), dtype="geometry",
                                                   crs="EPSG:4326"),
                            crs="EPSG:4326")


def _runs(xy: list) -> list[np.ndarray]:
    """Return the runs of consecutive located points (None = missing) with >= 2 distinct points."""
    runs, cur = [], []
    for p in [*xy, None]:
        if p is None:
            if cur:
                run = _distinct_run(np.asarray(cur, dtype=float))
                if len(run) >= 2:
                    runs.append(run)
            cur = []
        else:
            cur.append(p)
    return runs


def _cut_ends(xy: list) -> set[tuple[float, float]]:
    """Return the located points next to a missing one: where a way is cut."""
    n = len(xy)
    return {tuple(p) for k, p in enumerate(xy) if p is not None and (
        (k > 0 and xy[k - 1] is None) or (k < n - 1 and xy[k + 1] is None))}


def _lines(runs: list[np.ndarray]):
    if not runs:
        return None
    if len(runs) == 1:
        return shapely.LineString(runs[0])
    return shapely.MultiLineString([shapely.LineString(r) for r in runs])


def _rebuild_relation(ms: list[tuple[int, str]], members: dict):
    """Polygon of a multipolygon relation from the parts of its member ways in the file."""
    outer, inner, cut_ends = [], [], set()
    for ref, role in ms:
        if ref not in members:
            continue
        (inner if role == "inner" else outer).extend(members[ref][0])
        cut_ends |= members[ref][2]
    shells = _polygons(outer, cut_ends)
    if shells is None:
        return None
    holes = _polygons(inner, cut_ends)
    geom = shells if holes is None else shapely.difference(shells, holes)
    return _family_part(geom, "polygon") if not geom.is_empty else None


def _polygons(runs: list[np.ndarray], cut_ends: set):
    """Rings from line pieces merged at shared ends.

    An open chain is closed straight across the cut only when both its ends
    are where a way is cut (a node next to a missing one), as in an extract cut
    by a box. A chain ending where a whole member way meets an absent one
    (an extract cut along whole ways, e.g. a region's border) is left out:
    a straight closure there would invent land.
    """
    if not runs:
        return None
    merged = shapely.line_merge(shapely.MultiLineString([shapely.LineString(r) for r in runs]))
    polys = []
    for chain in shapely.get_parts(merged):
        xy = shapely.get_coordinates(chain)
        closed = np.array_equal(xy[0], xy[-1])
        if not closed and not (tuple(xy[0]) in cut_ends and tuple(xy[-1]) in cut_ends):
            continue
        ring = _ring(xy)
        if ring is None:
            continue
        poly = shapely.make_valid(shapely.Polygon(ring))
        part = _family_part(poly, "polygon")
        if part is not None:
            polys.append(part)
    if not polys:
        return None
    return shapely.union_all(polys)


def _is_area(tags: dict, keys: frozenset, key_values: frozenset) -> bool:
    """GDAL's rule for a closed way: a polygon if ``area=yes`` or it has a polygon tag."""
    if tags.get("area") == "yes":
        return True
    if tags.get("area") == "no":
        return False
    return any(k in keys or f"{k}={v}" in key_values for k, v in tags.items())


def _osmconf() -> tuple[frozenset, frozenset, dict[str, tuple[str, ...]]]:
    """Polygon keys, polygon key=value tags and ignored keys per layer of GDAL's osmconf.ini."""
    candidates = [os.environ.get("OSM_CONFIG_FILE")]
    try:
        candidates.append(os.path.join(pyogrio.get_gdal_data_path() or "", "osmconf.ini"))
    except Exception:  # no GDAL data folder: GDAL uses its built-in defaults
        pass
    for name in candidates:
        if not name or not os.path.isfile(name):
            continue
        cp = configparser.ConfigParser(interpolation=None, strict=False)
        try:
            cp.read(name, encoding="utf-8")
            items = [s.strip() for s in cp.get("general", "closed_ways_are_polygons").split(",")]
            ignore = {layer: tuple(s.strip() for s in cp.get(layer, "ignore",
                                                             fallback="").split(",") if s)
                      for layer in _DEFAULT_IGNORE}
        except (configparser.Error, OSError) as exc:
            logger.debug("cannot read %s (%s); GDAL's defaults assumed", name, exc)
            continue
        return (frozenset(i for i in items if "=" not in i),
                frozenset(i for i in items if "=" in i), ignore)
    return frozenset(_DEFAULT_POLYGON_KEYS), frozenset(_DEFAULT_POLYGON_TAGS), _DEFAULT_IGNORE


# --------------------------------------------------------------------------------------
# applying the scan to a GDAL layer
# --------------------------------------------------------------------------------------


def _apply_cuts(raw: gpd.GeoDataFrame, layer: str, cuts: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    cuts = cuts.loc[cuts["layer"].eq(layer) | cuts["osm_element"].eq("way")]
    if cuts.empty:
        return raw
    raw = raw.copy()
    way_col = "osm_way_id" if layer == "multipolygons" else "osm_id"
    way_ids = pd.to_numeric(raw[way_col], errors="coerce")
    if layer == "multipolygons":
        rel_ids = pd.to_numeric(raw["osm_id"], errors="coerce").where(way_ids.isna())
    else:
        rel_ids = pd.Series(np.nan, index=raw.index)
    status = raw[REPAIR_COLUMN].to_numpy(dtype=object).copy()
    geoms = np.asarray(raw.geometry.values, dtype=object).copy()
    added = []
    _, _, ignore = _osmconf()
    for element, ids in (("way", way_ids), ("relation", rel_ids)):
        sub = cuts.loc[cuts["osm_element"].eq(element)]
        if sub.empty:
            continue
        pos = pd.Series(np.arange(len(raw)), index=ids.to_numpy())
        pos = pos.loc[pos.index.notna()]
        pos.index = pos.index.astype("int64")
        pos = pos[~pos.index.duplicated()]
        for row in sub.itertuples(index=False):
            if row.osm_id in pos.index:  # GDAL wrote it: keep the part in the file
                i = int(pos.loc[row.osm_id])
                status[i] = CUT
                if layer == "lines":  # GDAL bridges the gaps: use the runs instead
                    geoms[i] = row.geometry
                continue
            if row.layer != layer:
                continue
            if element == "way" and row.located_n >= 2:
                continue  # GDAL writes such ways: absent because the filter left it out
            tags = {k: v for k, v in json.loads(row.tags).items()
                    if not _ignored(k, ignore.get(layer, ()))}
            if element == "way" and not tags:
                continue  # an untagged piece of something else
            added.append({
                "osm_id": str(row.osm_id) if (element == "relation" or layer == "lines")
                else None,
                "osm_way_id": str(row.osm_id) if (element == "way" and
                                                  layer == "multipolygons") else None,
                "other_tags": _hstore(tags),
                REPAIR_COLUMN: CUT if row.geometry is not None else CUT_OFF,
                "geometry": row.geometry if element == "relation" else None,
            })
    raw[REPAIR_COLUMN] = status
    raw[raw.geometry.name] = geoms
    if not added:
        return raw
    extra = pd.DataFrame(added)
    extra = gpd.GeoDataFrame(extra.drop(columns="geometry"),
                             geometry=gpd.GeoSeries(list(extra["geometry"]), dtype="geometry",
                                                    crs=raw.crs), crs=raw.crs)
    for c in raw.columns:
        if c not in extra.columns:
            extra[c] = None
    if "osm_way_id" not in raw.columns:
        extra = extra.drop(columns="osm_way_id")
    extra = extra[list(raw.columns)]
    out = pd.concat([raw, extra.astype({c: object for c in extra.columns
                                        if c != extra.geometry.name})], ignore_index=True)
    return gpd.GeoDataFrame(out, geometry=raw.geometry.name, crs=raw.crs)


def _ignored(key: str, ignore: tuple[str, ...]) -> bool:
    return any(key == i or (i.endswith(":") and key.startswith(i)) for i in ignore)


def _hstore(tags: dict[str, str]) -> str:
    def q(s: str) -> str:
        return '"' + str(s).replace("\\", "\\\\").replace('"', '\\"') + '"'

    return ",".join(f"{q(k)}=>{q(v)}" for k, v in tags.items())
