"""Draw a :class:`~productivecity.sources.basemap.BaseMap` under a matplotlib map.

Green space and water are filled, rail and streets drawn as lines (streets wider
the more important they are), all in muted colours below the sites. Street
names are written along their street when the map is zoomed in far enough
(:data:`STREET_LABEL_MAX_SCALE`): on the longest straight piece of each
visible street where the name fits, never over another label, with a white
halo. Names come in the output language (``name:<lang>``) where the data has
it, else the ``name`` tag. The same inputs give the same drawing.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from matplotlib.axes import Axes
from matplotlib.font_manager import FontProperties
from matplotlib.textpath import text_to_path

from productivecity.outputs._paths import add_prepared, halo_text, page_memo, prepare_geometries
from productivecity.sources.basemap import STREET_KINDS, BaseMap, names_in

#: Street names are written only on maps at this scale or larger (1:25,000 ≈ 6 km on A3).
STREET_LABEL_MAX_SCALE = 25_000.0
#: Neighbourhood names are written on maps at this scale or larger.
PLACE_LABEL_MAX_SCALE = 60_000.0
#: Paths and service roads are drawn on maps at this scale or larger.
MINOR_STREET_MAX_SCALE = 40_000.0

#: Muted colours of the base map (the sites' colours stay readable above them).
BASEMAP_STYLE = {
    "green": "#dde8d3",
    "water": "#cfe1ee",
    "water_line": "#b3cfe3",
    "rail": "#9f988d",
    "street_major": "#bcb5a9",
    "street_minor": "#d0cac0",
    "street_path": "#d9d4cb",
    "street_text": "#5f594f",
    "place_text": "#7a7367",
}
#: Street line widths (points at sheet scale 1, zoomed in), by kind.
STREET_WIDTH_PT = {"motorway": 2.2, "primary": 1.8, "secondary": 1.5, "tertiary": 1.2,
                   "residential": 0.8, "service": 0.5, "path": 0.35}
_PLACE_DRAWN = ("suburb", "quarter", "neighbourhood", "hamlet", "village")
_FONT = FontProperties(family="DejaVu Sans")
_MAX_STREET_LABELS = 400
#: Gids of the artists drawn (tests and atlas pages look them up).
GIDS = ("basemap_green", "basemap_water", "basemap_rail", "basemap_streets",
        "basemap_streets_over", "basemap_street_name", "basemap_place_name")


def map_scale(ax: Axes) -> float:
    """Return the scale denominator of ``ax`` on paper (x limits in metres)."""
    x0, x1 = ax.get_xlim()
    width_in = ax.get_window_extent().width / ax.figure.dpi
    return abs(x1 - x0) / max(width_in * 0.0254, 1e-9)


def draw_basemap(ax: Axes, basemap: BaseMap | None, *, bounds: Sequence[float], lang: str,
                 scale: float = 1.0, labels: bool = True) -> list[str]:
    """Draw ``basemap`` into ``ax`` below the map's other layers.

    Parameters
    ----------
    ax : Axes
        A map axes in the base map's CRS, its limits already set.
    basemap : BaseMap or None
        Nothing is drawn for None or an empty base map.
    bounds : (xmin, ymin, xmax, ymax)
        The part of the map shown (features outside are not drawn).
    lang : str
        Language of the street and place names.
    scale : float, default 1
        Sheet scale (line widths and type sizes are multiplied by it).
    labels : bool, default True
        Write street and place names where the map's scale allows it.

    Returns
    -------
    list of str
        The street names written (in drawing order).
    """
    if basemap is None or basemap.empty:
        return []
    # every atlas page of one extent draws the same base map: plan it once, replay it
    bbox = ax.get_window_extent()
    key = (tuple(float(b) for b in bounds), ax.get_xlim(), ax.get_ylim(),
           bbox.width, bbox.height, ax.figure.dpi, lang, float(scale), bool(labels))

    def plan():
        ops: list = []
        written = _plan(ax, ops, basemap, bounds=bounds, lang=lang, scale=scale, labels=labels)
        return ops, written

    ops, written = page_memo(_PLANS, (basemap,), key, plan, max_n=_PLANS_MAX)
    for kind, what, kwargs in ops:
        if kind == "g":
            add_prepared(ax, what, **kwargs)
        else:
            halo_text(ax, *what, **kwargs)
    return list(written)


#: Planned base maps (see :func:`draw_basemap`), oldest first.
_PLANS: dict = {}
_PLANS_MAX = 8


def _geoms(ops: list, geoms, *, color=None, facecolor=None, edgecolor=None,
           **kwargs) -> None:
    ops.append(("g", prepare_geometries(geoms, color=color, facecolor=facecolor,
                                        edgecolor=edgecolor), kwargs))


def _plan(ax: Axes, ops: list, basemap: BaseMap, *, bounds: Sequence[float], lang: str,
          scale: float, labels: bool) -> list[str]:
    """Fill ``ops`` with what :func:`draw_basemap` draws; return the street names."""
    xmin, ymin, xmax, ymax = (float(b) for b in bounds)
    view = shapely.box(xmin, ymin, xmax, ymax)
    denom = map_scale(ax)
    zoomed = denom <= MINOR_STREET_MAX_SCALE
    k = 1.0 if denom <= STREET_LABEL_MAX_SCALE else 0.6
    s = scale
    # a quarter of a point on paper: vertices closer than that are not seen
    tol_m = 0.25 * 0.0254 / 72.0 * denom
    green = _visible(basemap.green, view, tol_m)
    if len(green):
        _geoms(ops, green.geometry.values, color=BASEMAP_STYLE["green"], zorder=1.2,
                       gid="basemap_green")
    water = _visible(basemap.water, view, tol_m)
    if len(water):
        area = water.geom_type.isin(["Polygon", "MultiPolygon"])
        if area.any():
            _geoms(ops, water.geometry.values[area.to_numpy()],
                           color=BASEMAP_STYLE["water"], zorder=1.3, gid="basemap_water")
        for stream in (True, False):
            part = water[~area & water["kind"].eq("stream").eq(stream)]
            if len(part):
                _geoms(ops, part.geometry.values, color=BASEMAP_STYLE["water_line"],
                               linewidth=(0.6 if stream else 1.4) * s * k, zorder=1.3,
                               gid="basemap_water")
    streets = _visible(basemap.streets, view, tol_m)
    if not zoomed:
        streets = streets[~streets["kind"].isin(["path", "service"])]
    for i, kind in enumerate(reversed(list(STREET_KINDS))):  # major streets on top
        part = streets[streets["kind"].eq(kind)]
        if not len(part):
            continue
        colour = (BASEMAP_STYLE["street_path"] if kind == "path" else
                  BASEMAP_STYLE["street_minor"] if kind in ("residential", "service")
                  else BASEMAP_STYLE["street_major"])
        _geoms(ops, part.geometry.values, color=colour,
                       linewidth=STREET_WIDTH_PT[kind] * s * k, zorder=1.5 + 0.01 * i,
                       gid="basemap_streets",
                       linestyle=(0, (2, 1)) if kind == "path" and zoomed else "solid")
    rail = _visible(basemap.rail, view, tol_m)
    if len(rail):
        heavy = ~rail["kind"].isin(["tram"])
        if heavy.any():
            heavy_geoms = rail.geometry.values[heavy.to_numpy()]
            _geoms(ops, heavy_geoms, color=BASEMAP_STYLE["rail"],
                           linewidth=1.0 * s * k, zorder=1.6, gid="basemap_rail")
            _geoms(ops, heavy_geoms, color="white", linewidth=0.45 * s * k,
                           zorder=1.61, linestyle=(0, (3, 3)), gid="basemap_rail")
        if (~heavy).any():
            _geoms(ops, rail.geometry.values[(~heavy).to_numpy()],
                           color=BASEMAP_STYLE["rail"], linewidth=0.4 * s * k, zorder=1.6,
                           gid="basemap_rail")
    if denom <= STREET_LABEL_MAX_SCALE:
        # zoomed in: the streets' course stays visible through the sites' fills (thin,
        # half-transparent white), so that a named street reads as a street
        over = streets[~streets["kind"].eq("path")]
        if len(over):
            _geoms(ops, over.geometry.values, color="white", alpha=0.6,
                           linewidth=0.5 * s, zorder=13.5, gid="basemap_streets_over")
    if not labels:
        return []
    placed: list = []
    if denom <= PLACE_LABEL_MAX_SCALE:
        _place_names(ax, ops, basemap, view, lang, s, placed)
    if denom <= STREET_LABEL_MAX_SCALE:
        return _street_names(ax, ops, basemap, streets, view, lang, s, placed)
    return []


def _visible(frame: gpd.GeoDataFrame, view, tol_m: float = 0.0) -> gpd.GeoDataFrame:
    """Features of ``frame`` in ``view``, simplified by ``tol_m`` (finer than the paper shows)."""
    if frame is None or not len(frame):
        return frame.iloc[:0] if frame is not None else frame
    hit = frame.iloc[np.sort(frame.sindex.query(view, predicate="intersects"))]
    if tol_m > 0 and len(hit):
        geoms = shapely.simplify(np.asarray(hit.geometry.values), tol_m)
        hit = hit.set_geometry(gpd.GeoSeries(geoms, index=hit.index, crs=hit.crs))
    return hit


def _to_pt(ax: Axes):
    """Return a function mapping map coordinates to paper points (origin: lower left)."""
    x0, x1 = ax.get_xlim()
    y0, _ = ax.get_ylim()
    width_pt = ax.get_window_extent().width / ax.figure.dpi * 72.0
    k = width_pt / (x1 - x0)
    return (lambda xy: (np.asarray(xy) - (x0, y0)) * k), k


@functools.lru_cache(maxsize=4096)
def _text_size_pt(text: str, size: float) -> tuple[float, float]:
    """Width and height of ``text`` in DejaVu Sans at ``size`` points."""
    prop = _FONT.copy()
    prop.set_size(size)
    w, _h, _d = text_to_path.get_text_width_height_descent(text, prop, ismath=False)
    return float(w), float(size)


def _label_box(cx: float, cy: float, w: float, h: float, angle_deg: float):
    a = math.radians(angle_deg)
    ux, uy, vx, vy = math.cos(a), math.sin(a), -math.sin(a), math.cos(a)
    pts = [(cx + sx * w / 2 * ux + sy * h / 2 * vx, cy + sx * w / 2 * uy + sy * h / 2 * vy)
           for sx, sy in ((-1, -1), (1, -1), (1, 1), (-1, 1))]
    return shapely.Polygon(pts)


def _free(box, placed: list) -> bool:
    if not placed:
        return True
    return not bool(shapely.intersects(np.asarray(placed, dtype=object), box).any())


def _place_names(ax, ops: list, basemap: BaseMap, view, lang: str, s: float,
                 placed: list) -> None:
    places = _visible(basemap.places, view)
    places = places[places["kind"].isin(_PLACE_DRAWN)]
    if not len(places):
        return
    to_pt, _ = _to_pt(ax)
    inner = _view_pt(ax)
    size = 6.5 * s
    names = names_in(places, lang)
    for geom, name in zip(places.geometry, names, strict=True):
        if name is None:
            continue
        (cx, cy), = to_pt([(geom.x, geom.y)])
        w, h = _text_size_pt(str(name), size)
        box = _label_box(cx, cy, w + 2 * s, h * 1.3, 0.0)
        if not inner.contains(box) or not _free(box, placed):
            continue
        placed.append(box)
        ops.append(("t", (geom.x, geom.y, str(name)), dict(
            fontsize=size, fontstyle="italic", color=BASEMAP_STYLE["place_text"],
            ha="center", va="center", zorder=14, halo_pt=2.0 * s, clip_on=True,
            gid="basemap_place_name")))


def _view_pt(ax):
    bbox = ax.get_window_extent()
    return shapely.box(0, 0, bbox.width / ax.figure.dpi * 72.0,
                       bbox.height / ax.figure.dpi * 72.0)


def _street_names(ax, ops: list, basemap: BaseMap, streets: gpd.GeoDataFrame, view, lang: str,
                  s: float, placed: list) -> list[str]:
    names = names_in(streets, lang)
    named = streets.assign(_label=names)[names.notna().to_numpy()]
    if not len(named):
        return []
    to_pt, k = _to_pt(ax)
    inner = _view_pt(ax)
    size = 5.5 * s
    rank = {kind: i for i, kind in enumerate(STREET_KINDS)}
    clipped = shapely.intersection(np.asarray(named.geometry.values), view)
    # one street = its ways of one name and kind, merged where they meet
    groups: dict[tuple[str, str], list] = {}
    for geom, name, kind in zip(clipped, named["_label"], named["kind"], strict=True):
        if geom is not None and not geom.is_empty:
            groups.setdefault((str(name), str(kind)), []).append(geom)
    # candidates: the longest straight piece of each merged line, in paper points
    cands = []
    tol_m = 1.5 / k  # simplify by 1.5 pt: small bends do not break a straight piece
    for (name, kind), parts in sorted(groups.items()):
        geom = shapely.line_merge(shapely.union_all(parts))
        for line in getattr(geom, "geoms", [geom]):
            if line.geom_type != "LineString":
                continue
            xy = to_pt(np.asarray(shapely.simplify(line, tol_m).coords))
            if len(xy) < 2:
                continue
            seg = np.diff(xy, axis=0)
            length = np.hypot(seg[:, 0], seg[:, 1])
            i = int(np.argmax(length))
            cands.append((rank.get(kind, 99), -float(length[i]), name, xy[i], xy[i + 1]))
    cands.sort(key=lambda c: (c[0], c[1], c[2], tuple(c[3])))
    done: dict[str, list] = {}
    written: list[str] = []
    inv = 1.0 / k
    x0, y0 = ax.get_xlim()[0], ax.get_ylim()[0]
    for _, neg_len, name, a, b in cands:
        if len(written) >= _MAX_STREET_LABELS:
            break
        w, h = _text_size_pt(name, size)
        if w + 4 * s > -neg_len:
            continue
        cx, cy = (a + b) / 2
        # one label per name, unless far from the others (a long street)
        if any(math.hypot(cx - px, cy - py) < max(6 * w, 200.0) for px, py in done.get(name, [])):
            continue
        angle = math.degrees(math.atan2(b[1] - a[1], b[0] - a[0]))
        if angle > 90:
            angle -= 180
        elif angle <= -90:
            angle += 180
        box = _label_box(cx, cy, w + 3 * s, h * 1.35, angle)
        if not inner.contains(box) or not _free(box, placed):
            continue
        placed.append(box)
        done.setdefault(name, []).append((cx, cy))
        written.append(name)
        ops.append(("t", (x0 + cx * inv, y0 + cy * inv, name), dict(
            fontsize=size, color=BASEMAP_STYLE["street_text"], rotation=angle,
            rotation_mode="anchor", ha="center", va="center_baseline", zorder=14,
            halo_pt=1.6 * s, clip_on=True, gid="basemap_street_name")))
    return written


def unit_labels(units: gpd.GeoDataFrame, basemap: BaseMap | None, lang: str) -> pd.Series:
    """Return the names of statistical units (municipalities) in ``lang`` where known.

    A unit's own ``name_<lang>`` / ``name:<lang>`` column wins; else an OSM place
    (city, town, village) of the base map inside the unit whose name or one of its
    ``name:<xx>`` matches the unit's ``name`` lends its ``name:<lang>``; else the
    unit's ``name``.
    """
    name = units["name"].astype(object) if "name" in units.columns else pd.Series(
        [str(i) for i in units.index], index=units.index, dtype=object)
    for col in (f"name_{lang}", f"name:{lang}"):
        if col in units.columns:
            return units[col].astype(object).where(units[col].notna(), name)
    if basemap is None or not len(basemap.places) or f"name:{lang}" not in basemap.places:
        return name
    towns = basemap.places[basemap.places["kind"].isin(["city", "town", "village"])]
    towns = towns.to_crs(units.crs) if units.crs is not None else towns
    name_cols = [c for c in towns.columns if c == "name" or c.startswith("name:")]
    out = name.copy()
    for idx, geom, nm in zip(units.index, units.geometry, name, strict=True):
        inside = towns[towns.within(geom)]
        for _, row in inside.iterrows():
            known = {str(row[c]).strip().lower() for c in name_cols if pd.notna(row[c])}
            if str(nm).strip().lower() in known and pd.notna(row[f"name:{lang}"]):
                out.loc[idx] = row[f"name:{lang}"]
                break
    return out


__all__ = ["BASEMAP_STYLE", "STREET_LABEL_MAX_SCALE", "draw_basemap", "map_scale",
           "unit_labels"]
