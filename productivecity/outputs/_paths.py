"""Draw shapely geometries into a matplotlib axes fast: one compound path per style.

GeoPandas' ``plot`` builds one matplotlib patch per feature (and the PDF backend
then writes one path, with its own graphics state, per feature). A map layer drawn
in one colour needs only one path: :func:`add_geometries` builds it from the
coordinates of all features at once (vectorised with shapely) and adds it as a
one-patch :class:`~matplotlib.collections.PatchCollection`, styled like GeoPandas'
(round joins, butt caps). :func:`add_geometries` with ``per_feature=True`` keeps
one path per feature, for fills that vary by feature.
"""

from __future__ import annotations

import contextlib
import functools
import math
import threading
import weakref
from collections.abc import Iterator

import matplotlib as mpl
import numpy as np
import shapely
from matplotlib import patheffects
from matplotlib.axes import Axes
from matplotlib.collections import PatchCollection
from matplotlib.patches import PathPatch
from matplotlib.path import Path
from matplotlib.text import Text

_LINES = (1, 2)  # shapely type ids of LineString, LinearRing
_POLYGON = 3


def _pieces(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Coordinates of the rings and lines of ``geoms``.

    Returns ``(xy, piece, closed)``: the vertices, the piece each vertex belongs to
    (ascending) and, per piece, whether it is a polygon ring.
    """
    parts = shapely.get_parts(geoms)
    kind = shapely.get_type_id(parts)
    rings = shapely.get_rings(parts[kind == _POLYGON])
    lines = parts[np.isin(kind, _LINES)]
    pieces = np.concatenate([rings, lines])
    closed = np.r_[np.ones(len(rings), bool), np.zeros(len(lines), bool)]
    xy, piece = shapely.get_coordinates(pieces, return_index=True)
    return xy, piece, closed


def _path(xy: np.ndarray, piece: np.ndarray, closed: np.ndarray) -> Path | None:
    if not len(xy):
        return None
    codes = np.full(len(xy), Path.LINETO, dtype=Path.code_type)
    start = np.r_[True, piece[1:] != piece[:-1]]
    codes[start] = Path.MOVETO
    end = np.r_[piece[1:] != piece[:-1], True]
    codes[end & closed[piece]] = Path.CLOSEPOLY
    return Path(xy, codes)


def geometry_path(geoms) -> Path | None:
    """One compound :class:`~matplotlib.path.Path` of the rings and lines of ``geoms``.

    Polygon rings are closed sub-paths, lines open ones; points are left out.
    Returns None when there is nothing to draw.
    """
    geoms = np.asarray(geoms, dtype=object).ravel()
    geoms = geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))]
    return _path(*_pieces(geoms))


def _feature_paths(geoms: np.ndarray) -> list[Path]:
    """One path per geometry (an empty path for a missing or empty one)."""
    geoms = np.asarray(geoms, dtype=object).ravel()
    ok = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    out = [Path(np.empty((0, 2)))] * len(geoms)
    if not ok.any():
        return out
    idx = np.flatnonzero(ok)
    parts, owner = shapely.get_parts(geoms[idx], return_index=True)
    kind = shapely.get_type_id(parts)
    poly = kind == _POLYGON
    rings, ring_owner = shapely.get_rings(parts[poly], return_index=True)
    line = np.isin(kind, _LINES)
    pieces = np.concatenate([rings, parts[line]])
    piece_owner = np.concatenate([owner[poly][ring_owner], owner[line]])
    closed = np.r_[np.ones(len(rings), bool), np.zeros(int(line.sum()), bool)]
    order = np.argsort(piece_owner, kind="stable")
    pieces, piece_owner, closed = pieces[order], piece_owner[order], closed[order]
    xy, piece = shapely.get_coordinates(pieces, return_index=True)
    feature = piece_owner[piece]
    bounds = np.searchsorted(feature, np.arange(len(idx) + 1))
    for j, i in enumerate(idx):
        a, b = bounds[j], bounds[j + 1]
        if b > a:
            p = piece[a:b]
            out[i] = _path(xy[a:b], p - p[0], closed[p[0]:p[-1] + 1])
    return out


def add_geometries(ax: Axes, geoms, *, color=None, facecolor=None, edgecolor=None,
                   per_feature: bool = False, **kwargs) -> PatchCollection | None:
    """Add ``geoms`` to ``ax`` as one styled collection; return it (None if nothing drawn).

    Parameters
    ----------
    ax : Axes
    geoms : array-like of shapely geometries
        Polygons are filled and outlined, lines drawn; points are left out.
    color : colour, optional
        Like GeoPandas' ``plot``: the fill of polygons, the colour of lines.
    facecolor, edgecolor : colour, optional
        Fill and outline (default: no outline; no fill for lines).
    per_feature : bool, default False
        One path per geometry (for per-feature colours, a sequence as ``color``);
        else one compound path for all.
    **kwargs
        Other :class:`~matplotlib.collections.Collection` properties (linewidth,
        linestyle, alpha, hatch, zorder, gid).
    """
    shape = prepare_geometries(geoms, color=color, facecolor=facecolor, edgecolor=edgecolor,
                               per_feature=per_feature)
    return add_prepared(ax, shape, **kwargs)


def prepare_geometries(geoms, *, color=None, facecolor=None, edgecolor=None,
                       per_feature: bool = False) -> tuple[list[Path], object, object] | None:
    """Paths and colours of :func:`add_geometries` (to draw later with :func:`add_prepared`)."""
    geoms = np.asarray(geoms, dtype=object).ravel()
    if per_feature:
        paths = _feature_paths(geoms)
        if not paths:
            return None
    else:
        path = geometry_path(geoms)
        if path is None:
            return None
        paths = [path]
    kinds = shapely.get_type_id(shapely.get_parts(geoms[~shapely.is_missing(geoms)]))
    has_area = bool((kinds == _POLYGON).any())
    if has_area:
        face = facecolor if facecolor is not None else color
        edge = edgecolor if edgecolor is not None else "none"
    else:
        face = "none"
        edge = edgecolor if edgecolor is not None else (color if color is not None else "black")
    return paths, face, edge


def add_prepared(ax: Axes, shape, **kwargs) -> PatchCollection | None:
    """Add paths from :func:`prepare_geometries` to ``ax`` with Collection ``kwargs``."""
    if shape is None:
        return None
    paths, face, edge = shape
    coll = PatchCollection([PathPatch(p) for p in paths], facecolor=face, edgecolor=edge,
                           **kwargs)
    ax.add_collection(coll, autolim=True)
    ax.autoscale_view()
    return coll


class HaloText(Text):
    """Text with a halo: an outline of ``halo_pt`` points in ``halo_colour`` behind it.

    In a PDF the halo is the text itself drawn once more with its glyph
    outlines stroked (PDF text rendering mode 1), so it stays text: a label
    costs a few bytes instead of its glyphs as paths, and draws ten times
    faster. Elsewhere (PNG, SVG) it is matplotlib's ``withStroke`` path effect,
    which looks the same.

    An atlas draws the same labels (street names) on many pages, each label
    twice (halo and text): in a PDF, a label's measured size and its glyph
    run are worked out once per process and PDF file (see :func:`pdf_text_cache`).
    """

    def __init__(self, x, y, text, *, halo_pt: float, halo_colour="white", **kwargs):
        super().__init__(x, y, text, **kwargs)
        self.halo_pt, self.halo_colour = float(halo_pt), halo_colour
        self.set_path_effects([patheffects.withStroke(linewidth=self.halo_pt,
                                                      foreground=halo_colour)])

    def draw(self, renderer):
        from matplotlib.backends.backend_pdf import RendererPdf

        # savefig hands the artists a MixedModeRenderer around the PDF renderer
        pdf = getattr(renderer, "_renderer", renderer)
        if not isinstance(pdf, RendererPdf) or not self.get_visible() \
                or not self.get_text() or self.halo_pt <= 0:
            return super().draw(renderer)
        effects = self._path_effects
        self._path_effects = []  # not set_path_effects: that would mark the figure stale
        # one line: halo and fill in one pass; several: every halo first, then the fills,
        # so that no line's halo covers the line above
        passes = [(1, 0)] if "\n" not in self.get_text() else [(1,), (0,)]
        try:
            for modes in passes:
                super().draw(_HaloPdf(renderer, pdf, self.halo_pt, self.halo_colour, modes))
        finally:
            self._path_effects = effects
            self._renderer = renderer  # as a plain draw leaves it, not the wrapper


#: Text sizes measured for the PDF renderer, by (string, font, font settings); not
#: math text. They do not depend on the page (matplotlib keeps its own cache per
#: renderer, i.e. per page).
_METRICS: dict = {}
#: Glyph runs written into a PDF, by file, then (string, font, features, language,
#: font settings).
_RUNS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
#: Entries kept in each cache before it starts anew (a bound on memory, not a tuning knob).
_CACHE_MAX_N = 20_000


class _Recorder:
    """Stands in for a PDF content stream: keeps what is written to it."""

    def __init__(self):
        self.parts: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.parts.append(data)

    def data(self) -> bytes:
        return b"".join(self.parts)


#: The settings that decide which font file a FontProperties of a generic family
#: ("sans-serif", ...) resolves to: part of every text cache key.
_FONT_RC = ("font.family", "font.sans-serif", "font.serif", "font.monospace",
            "font.cursive", "font.fantasy", "pdf.use14corefonts", "pdf.fonttype")


def _font_settings() -> tuple:
    return tuple(tuple(v) if isinstance(v, list) else v
                 for v in (mpl.rcParams[k] for k in _FONT_RC))


def _fonts_of(pdf) -> tuple:
    """Return the font settings of the figure ``pdf`` draws (read once), else the current ones."""
    fonts = getattr(pdf, "_cached_text_fonts", None)
    return _font_settings() if fonts is None else fonts


def _text_size(pdf, s, prop, ismath):
    """``get_text_width_height_descent`` of the PDF renderer ``pdf``, measured once per process."""
    if ismath:  # mathematical text: measured by matplotlib each time (its own settings)
        return type(pdf).get_text_width_height_descent(pdf, s, prop, ismath)
    key = (type(pdf), s, prop, _fonts_of(pdf))
    hit = _METRICS.get(key)
    if hit is None:
        hit = type(pdf).get_text_width_height_descent(pdf, s, prop, ismath)
        _keep(_METRICS, (*key[:2], prop.copy(), key[3]), hit)
    return hit


def _keep(cache: dict, key: tuple, value) -> None:
    """Store ``value`` in one of the text caches (emptied when it holds :data:`_CACHE_MAX_N`).

    ``key`` holds a copy of the font properties: the text's own may change later.
    """
    if len(cache) >= _CACHE_MAX_N:
        cache.clear()
    cache[key] = value


def _draw_text(pdf, gc, x, y, s, prop, angle, ismath=False, mtext=None) -> None:
    """Matplotlib's ``draw_text`` of the PDF renderer ``pdf``, its glyph run reused.

    A text's glyph run (the ``BT`` … ``ET`` that ``draw_text`` writes after
    placing the text with ``cm``) depends on its string and font only: the
    first time in a PDF file it is written by ``draw_text`` and kept; later
    (the fill after a halo, the same street or legend entry on the next page)
    it is written again after matplotlib's own placement operators. The bytes
    are those ``draw_text`` writes; a run whose bytes do not start with the
    placement (another matplotlib) is never reused. Mathematical text, links and
    the PDF core fonts are drawn by ``draw_text`` itself.
    """
    from matplotlib.backends.backend_pdf import Op

    if ismath or gc.get_url() is not None or mpl.rcParams["pdf.use14corefonts"]:
        type(pdf).draw_text(pdf, gc, x, y, s, prop, angle, ismath=ismath, mtext=mtext)
        return
    # the graphics state first, as draw_text does: what it writes next is the placement
    pdf.check_gc(gc, gc._rgb)
    file = pdf.file
    # the font features and language matplotlib >= 3.11 shapes the text with
    features = getattr(mtext, "get_fontfeatures", lambda: None)()
    language = getattr(mtext, "get_language", lambda: None)()
    runs = _RUNS.setdefault(file, {})
    key = (s, prop, features, language, _fonts_of(pdf))
    place = _Recorder()
    stream, file.currentstream = file.currentstream, place
    try:  # matplotlib's placement of a text: save the state, rotate and move
        a = math.radians(angle)
        file.output(Op.gsave)
        file.output(math.cos(a), math.sin(a), -math.sin(a), math.cos(a), x, y,
                    Op.concat_matrix)
    finally:
        file.currentstream = stream
    head = place.data()
    run = runs.get(key)
    if run is not None:
        stream.write(head + run)
        return
    drawn = _Recorder()
    file.currentstream = drawn
    try:
        type(pdf).draw_text(pdf, gc, x, y, s, prop, angle, mtext=mtext)
    finally:
        file.currentstream = stream
    data = drawn.data()
    stream.write(data)
    if data.startswith(head):
        _keep(runs, (s, prop.copy(), *key[2:]), data[len(head):])


#: A font's line metrics as matplotlib's text layout works them out, by (font, figure
#: resolution, font settings): see :func:`_font_height_metrics`.
_HEIGHTS: dict = {}


def _font_height_metrics(pdf, fig, prop):
    """Return the PDF renderer's ``_get_font_height_metrics``, once per font and size.

    Matplotlib lays every text out with its font's ascent, descent and line gap: the
    renderer may give them; otherwise (a TrueType font) the text looks its font up
    and reads them from the font's tables, for each text drawn or measured. Here
    they are read the same way, from the same tables and with the same arithmetic,
    once per font properties and figure resolution.
    """
    own = type(pdf)._get_font_height_metrics(pdf, prop)
    if own[0] is not None:  # the PDF core fonts: the renderer's own metrics
        return own
    dpi = fig.dpi
    key = (prop, dpi, _fonts_of(pdf))
    hit = _HEIGHTS.get(key)
    if hit is None:
        from matplotlib.font_manager import fontManager, get_font

        font = get_font(fontManager._find_fonts_by_props(prop))
        hit = (None, None, None)  # no such table: matplotlib measures the font itself
        for table_name, gap_key, ascent_key, descent_key in (
                ("OS/2", "sTypoLineGap", "sTypoAscender", "sTypoDescender"),
                ("hhea", "lineGap", "ascent", "descent")):
            table = font.get_sfnt_table(table_name)
            if table is None:
                continue
            fontsize = prop.get_size_in_points()
            units_per_em = font.get_sfnt_table("head")["unitsPerEm"]
            scale = 1 / units_per_em * fontsize * dpi / 72
            hit = (table[ascent_key] * scale, -table[descent_key] * scale,
                   table[gap_key] * scale)
            break
        _keep(_HEIGHTS, (prop.copy(), *key[1:]), hit)
    return hit


def _draw_path_collection(pdf, gc, master_transform, paths, all_transforms, offsets,
                          offset_trans, facecolors, edgecolors, linewidths, linestyles,
                          antialiaseds, urls, offset_position, *, hatchcolors=None):
    """Matplotlib's ``draw_path_collection`` of the PDF renderer ``pdf``, fills written fast.

    A collection of filled paths, one fill colour each (the sites of a map coloured
    by their value), is drawn by matplotlib path after path, each one's graphics
    state compared in full with the last. When the paths differ only in their fill,
    outline and (without a hatch) hatch colours, of one opacity each (no per-path
    transforms or offsets, one line width and style, no links), the first is drawn
    by matplotlib and every other one writes what matplotlib would write for it: the
    colours that change, in the order of the state's delta, the path and the paint
    operator. The bytes are matplotlib's own.
    """
    fc = np.asarray(facecolors)
    ec = np.asarray(edgecolors)
    n = len(paths)
    per_edge = len(ec) == n > 1  # an outline colour per path too (of one opacity)
    same_but_fill = (
        n > 1 and not len(all_transforms) and len(offsets) <= 1 and fc.ndim == 2
        and fc.shape == (n, 4) and bool(np.all(fc[:, 3] == fc[0, 3])) and fc[0, 3] > 0
        and (len(ec) <= 1 or (per_edge and ec.shape == (n, 4)
                              and bool(np.all(ec[:, 3] == ec[0, 3])) and ec[0, 3] > 0))
        and len(linewidths) <= 1 and len(linestyles) <= 1
        and len(antialiaseds) <= 1 and not any(u is not None for u in urls)
        and len(hc := np.asarray(hatchcolors if hatchcolors is not None else ())) in (0, 1, n)
        and gc.get_hatch() is None and gc.get_sketch_params() is None
        and not mpl.rcParams["pdf.inheritcolor"])
    if same_but_fill and len(offsets):  # one offset (a patch collection's (0, 0)) for all
        (xo, yo), = offset_trans.transform(offsets)
        same_but_fill = bool(np.isfinite(xo) and np.isfinite(yo))
    draw = type(pdf).draw_path_collection
    if not same_but_fill:
        return draw(pdf, gc, master_transform, paths, all_transforms, offsets, offset_trans,
                    facecolors, edgecolors, linewidths, linestyles, antialiaseds, urls,
                    offset_position, hatchcolors=hatchcolors)
    # the first path by matplotlib: the graphics state is then that of every path but
    # for its fill colour
    per_hatch = len(hc) == n  # a hatch colour per path (the outline's), with no hatch
    draw(pdf, gc, master_transform, paths[:1], all_transforms, offsets, offset_trans,
         fc[:1], ec[:1] if per_edge else edgecolors, linewidths, linestyles, antialiaseds,
         urls[:1], offset_position, hatchcolors=hc[:1] if per_hatch else hatchcolors)
    from matplotlib.transforms import IdentityTransform

    transform = IdentityTransform() + master_transform  # as matplotlib composes it
    if len(offsets) and (xo != 0 or yo != 0):
        transform = transform.frozen()
        transform.translate(xo, yo)
    state, file = pdf.gc, pdf.file
    hatch = next(params for params, cmd in type(state).commands
                 if cmd.__name__ == "hatch_cmd")
    paint = state.paint()
    for i in range(1, n):
        # what the state's delta writes, in its order: a new fill colour, a new outline
        # colour and, for a new hatch colour or as the hatch follows the fill, the hatch
        # command (with no hatch, it repeats the fill colour)
        ops: list = []
        filled = not np.array_equal(state._fillcolor, fc[i])
        if filled:
            ops += state.fillcolor_cmd(fc[i])
            state._fillcolor = fc[i].copy()  # matplotlib keeps its own (a row of a copy)
        if per_edge:
            # as matplotlib sets it (a collection never forces the graphics context's alpha)
            rgb = mpl.colors.to_rgba(ec[i])
            if not np.array_equal(state._rgb, rgb):
                ops += state.rgb_cmd(rgb)
                state._rgb = rgb
        hatched = filled
        if per_hatch:
            colour = mpl.colors.to_rgba(hc[i])  # as the graphics context keeps it
            if not np.array_equal(state._hatch_color, colour):
                hatched = True
        if hatched:
            theirs = [getattr(state, p) for p in hatch]
            if per_hatch:
                theirs[hatch.index("_hatch_color")] = colour
            ops += state.hatch_cmd(*theirs)
            for p, v in zip(hatch, theirs, strict=True):
                setattr(state, p, v)
        if ops:
            file.output(*ops)
        file.writePath(paths[i], transform, False, None)
        file.output(paint)


#: Text layouts (matplotlib's ``Text._get_layout``) worked out for a PDF drawn through
#: :func:`pdf_text_cache`, by everything a layout depends on (see :func:`_text_layout`).
_LAYOUTS: dict = {}
#: Matplotlib's own ``Text._get_layout`` (set when :func:`_text_layout` stands in for it).
_MPL_TEXT_LAYOUT = None


def _text_layout(text: Text, renderer):
    """``Text._get_layout``, worked out once per process for a PDF drawn through the caches.

    A text's layout (its lines' offsets, its rotated box) depends on its string,
    font, alignment, rotation, line spacing and the figure's resolution alone: the
    same label, legend entry or tick label on the next page has the same layout.
    Any other renderer, and a text that wraps, uses TeX or mathematical text, is
    laid out by matplotlib each time.
    """
    pdf = getattr(renderer, "_pdf", None) or getattr(renderer, "_renderer", renderer)
    fonts = getattr(pdf, "_cached_text_fonts", None)  # set while pdf_text_cache draws
    s = text.get_text()
    if fonts is None or text.get_wrap() or text.get_usetex() or "$" in s:
        return _MPL_TEXT_LAYOUT(text, renderer)
    key = (s, text._fontproperties, text._linespacing, text.figure.dpi,  # a sub-figure's too
           text._get_multialignment(), text.get_rotation(), text._horizontalalignment,
           text._verticalalignment, text.get_rotation_mode(), text.get_parse_math(), fonts)
    hit = _LAYOUTS.get(key)
    if hit is None:
        hit = _MPL_TEXT_LAYOUT(text, renderer)
        _keep(_LAYOUTS, (s, text._fontproperties.copy(), *key[2:]), hit)
    return hit


def _install_text_layout() -> None:
    """Put :func:`_text_layout` in place of ``Text._get_layout`` (once per process).

    It leaves every renderer but a PDF one drawing through :func:`pdf_text_cache`
    to matplotlib's own layout.
    """
    global _MPL_TEXT_LAYOUT
    with _SWAP_LOCK:
        if _MPL_TEXT_LAYOUT is None and Text.__dict__.get("_get_layout") is not _text_layout:
            _MPL_TEXT_LAYOUT = Text._get_layout
            Text._get_layout = _text_layout


@contextlib.contextmanager
def pdf_text_cache(fig) -> Iterator[None]:
    """Within the block, a PDF of ``fig`` draws its texts through the text caches.

    Every text of the figure (titles, legends, tick labels, …) is measured once
    per process and its glyph run shaped once per PDF file (:func:`_draw_text`):
    an atlas repeats its legend, footer and place names on every page. The PDF
    renderer of the figure's drawing gets the cached ``draw_text``, text measure
    and font line metrics (:func:`_font_height_metrics`) and the fast writer of
    fills (:func:`_draw_path_collection`) as attributes of its own, for that
    drawing only; the bytes written are those matplotlib writes.
    """
    from matplotlib.backends.backend_pdf import RendererPdf

    figure_draw = type(fig).draw
    _install_text_layout()

    def draw(renderer):
        pdf = getattr(renderer, "_renderer", renderer)
        if not isinstance(pdf, RendererPdf) or "draw_text" in vars(pdf):
            return figure_draw(fig, renderer)
        pdf.draw_text = functools.partial(_draw_text, pdf)
        pdf.get_text_width_height_descent = functools.partial(_text_size, pdf)
        pdf.draw_path_collection = functools.partial(_draw_path_collection, pdf)
        pdf._get_font_height_metrics = functools.partial(_font_height_metrics, pdf, fig)
        pdf._cached_text_fonts = _font_settings()  # the rc settings the text caches key on
        try:
            return figure_draw(fig, renderer)
        finally:
            del (pdf.draw_text, pdf.get_text_width_height_descent, pdf.draw_path_collection,
                 pdf._get_font_height_metrics, pdf._cached_text_fonts)

    fig.draw = draw
    try:
        yield
    finally:
        del fig.draw


class _HaloPdf:
    """A PDF renderer that draws each text twice: halo (stroked, mode 1), then fill.

    The halo is drawn as matplotlib draws text, with the graphics state of a
    round-joined stroke of the halo's width and colour, inside a span with an empty
    ``ActualText`` (readers extract, search and copy the label once); both go
    through the text caches (:func:`_text_size`, :func:`_draw_text`).
    """

    def __init__(self, renderer, pdf, width_pt: float, colour, modes=(1, 0)):
        self._renderer, self._pdf = renderer, pdf
        self._width_pt, self._colour = width_pt, colour
        self._modes = modes  # 1: the halo, 0: the fill

    def __getattr__(self, name):
        return getattr(self._renderer, name)

    def get_text_width_height_descent(self, s, prop, ismath):
        return _text_size(self._pdf, s, prop, ismath)

    def draw_text(self, gc, x, y, s, prop, angle, ismath=False, mtext=None):
        r = self._pdf
        halo = r.new_gc()
        halo.copy_properties(gc)
        halo.set_foreground(self._colour)
        halo.set_linewidth(self._width_pt)
        halo.set_joinstyle("round")
        halo.set_capstyle("round")
        for g, mode in ((halo, 1), (gc, 0)):
            if mode not in self._modes:
                continue
            # the graphics state first (colour, width, joins), so that the text's own
            # check finds nothing to change and cannot reset the mode set here
            r.check_gc(g, g._rgb)
            if mode:
                r.file.write(b"/Span <</ActualText ()>> BDC\n1 Tr\n")
            _draw_text(r, g, x, y, s, prop, angle, ismath=ismath, mtext=mtext)
            if mode:
                r.file.write(b"0 Tr\nEMC\n")


def halo_text(ax: Axes, x: float, y: float, s: str, *, halo_pt: float, halo_colour="white",
              **kwargs) -> Text:
    """Add a :class:`HaloText` of ``halo_pt`` points to ``ax``, ``kwargs`` as in ``ax.text``."""
    kwargs = {"verticalalignment": "baseline", "horizontalalignment": "left",
              "transform": ax.transData, "clip_on": False, **kwargs}
    t = HaloText(x, y, s, halo_pt=halo_pt, halo_colour=halo_colour, **kwargs)
    if t.get_clip_path() is None:
        t.set_clip_path(ax.patch)
    ax._add_text(t)
    return t


__all__ = ["add_geometries", "add_prepared", "geometry_path", "halo_text",
           "prepare_geometries"]


#: The font tables a PDF's embedded fonts can do without: OpenType layout (ligatures,
#: kerning pairs by feature), which a PDF reader never consults (the text is already
#: laid out, glyph by glyph). Subsetting them is most of fontTools' time.
LAYOUT_TABLES = ("GSUB", "GPOS", "GDEF")


@contextlib.contextmanager
def lean_font_subsets() -> Iterator[None]:
    """Within this block, fonts embedded in a PDF by matplotlib leave out :data:`LAYOUT_TABLES`.

    Matplotlib subsets each font (fontTools) when the PDF is closed, keeping the
    layout tables: about 60 ms of a page worker's time per font. The glyphs, their
    outlines, widths and the text's Unicode mapping are those matplotlib writes;
    the PDF is smaller. A matplotlib without ``get_glyphs_subset`` (the function whose
    fontTools module this replaces for the block) is left as it is. The replacement is
    for the whole process: a PDF closed by another thread within the block is subset
    the same way.
    """
    from matplotlib.backends import _backend_pdf_ps

    subset = getattr(_backend_pdf_ps, "subset", None)
    if subset is None or not hasattr(_backend_pdf_ps, "get_glyphs_subset"):
        yield
        return

    class Options(subset.Options):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.drop_tables += [t for t in LAYOUT_TABLES if t not in self.drop_tables]

    class Lean:  # fontTools.subset, its options dropping the layout tables
        def __getattr__(self, name):
            return getattr(subset, name)

    Lean.Options = Options
    with _SWAP_LOCK:
        _backend_pdf_ps.subset = Lean()
        try:
            yield
        finally:
            _backend_pdf_ps.subset = subset


_SWAP_LOCK = threading.RLock()


def page_memo(store: dict, refs: tuple, key: tuple, compute, *, max_n: int):
    """Return ``compute()``, kept in ``store`` for the next page while ``refs`` stay the same.

    Every page of an atlas draws the same context: what is derived from the run's
    data (reprojected layers, a planned base map, names in a language) is worked
    out once. An entry is keyed by the identity of ``refs`` (the objects it is
    derived from, held so their ids cannot be reused) and by ``key``; a changed
    object is a new entry. ``store`` keeps the ``max_n`` newest entries.
    """
    full = (*map(id, refs), *key)
    hit = store.get(full)
    if hit is None or any(a is not b for a, b in zip(hit[0], refs, strict=True)):
        hit = store[full] = (refs, compute())
        while len(store) > max_n:
            store.pop(next(iter(store)))
    return hit[1]
