"""A QGIS project beside the outputs: every layer of ``results.gpkg``, styled as the atlas.

:func:`write_qgis_project` writes ``project.qgz`` (a zip holding one ``.qgs`` XML file)
next to the run's GeoPackage, without QGIS: the XML is written here. The project has

* every layer of the GeoPackage, with relative paths (``./results.gpkg|layername=...``),
  so that the folder can be moved or mailed;
* the styles of the atlas overview: the score ramp as a graduated renderer on ``score``
  (the atlas colour map and scale), excluded sites hatched and not-assessable sites
  pale and dotted (a rule-based renderer on ``status``), hubs, railway stations, canal,
  industrial land, canal zone, municipalities and the base map (``basemap_*`` layers)
  where the GeoPackage has them;
* labels: the place names (``places``) and the municipality names;
* the layer order of the atlas, the run's CRS as the project CRS and the study area
  as the initial view;
* the attribute-only tables (criteria, coverage curve, ...) as tables in a group.

Layers of the result pages other than the overview (new hubs, demand units,
isochrones) and points of interest are in the project but switched off.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import uuid
import zipfile
from collections.abc import Sequence
from pathlib import Path
from xml.etree import ElementTree as ET

import numpy as np
import pyogrio
import pyproj

from productivecity import _i18n
from productivecity._errors import SchemaError, SourceNotFoundError
from productivecity.io import atomic_path

logger = logging.getLogger(__name__)

#: File name of the project in the output folder.
PROJECT_FILE = "project.qgz"
#: The QGIS version whose project format is written (later versions read it).
QGIS_FORMAT_VERSION = "3.22.0-Białowieża"
#: Classes of the score ramp (equal widths over the atlas colour scale).
SCORE_CLASSES_N = 10
#: Colour map of the score (the atlas overview's).
SCORE_CMAP = "viridis"
#: Points to millimetres (atlas line widths are in points).
_PT_MM = 25.4 / 72.0
_FONT = "DejaVu Sans"
_NS = uuid.UUID("6f1d2c1e-8f3b-4c57-9a43-3c2b5e0f7a10")  # rule keys: deterministic


# --------------------------------------------------------------------------- XML helpers


def _rgba(colour: str, alpha: float = 1.0) -> str:
    """``"#rrggbb"`` (or a matplotlib colour) as QGIS's ``"r,g,b,a"``."""
    from matplotlib import colors as mcolors

    r, g, b, a = mcolors.to_rgba(colour, alpha)
    return ",".join(str(int(round(v * 255))) for v in (r, g, b, a))


def _key(*parts: str) -> str:
    return "{" + str(uuid.uuid5(_NS, "/".join(parts))) + "}"


def _options(parent: ET.Element, props: dict) -> ET.Element:
    """Append ``<Option type="Map">`` with one string option per property."""
    opt = ET.SubElement(parent, "Option", type="Map")
    for k in sorted(props):
        ET.SubElement(opt, "Option", type="QString", name=k, value=str(props[k]))
    return opt


def _symbol(kind: str, layers: Sequence[tuple], *, name: str = "0",
            alpha: float = 1.0) -> ET.Element:
    """Return a ``<symbol>`` of ``kind`` (fill, line, marker) from ``(class, props, sub)``."""
    sym = ET.Element("symbol", type=kind, name=name, alpha=f"{alpha:g}",
                     clip_to_extent="1", force_rhr="0")
    for cls, props, *sub in layers:
        lay = ET.SubElement(sym, "layer", {"class": cls, "enabled": "1", "locked": "0",
                                           "pass": "0"})
        _options(lay, props)
        if sub and sub[0] is not None:
            lay.append(sub[0])
    return sym


def _fill(colour: str | None, edge: str | None = None, *, width_pt: float = 0.0,
          edge_style: str = "solid") -> tuple:
    return ("SimpleFill", {
        "color": _rgba(colour) if colour else "0,0,0,0",
        "style": "solid" if colour else "no",
        "outline_color": _rgba(edge) if edge else "0,0,0,0",
        "outline_style": edge_style if edge else "no",
        "outline_width": f"{width_pt * _PT_MM:.3f}", "outline_width_unit": "MM",
        "joinstyle": "round"})


def _line(colour: str, width_pt: float, *, dash_pt: Sequence[float] = (),
          cap: str = "round") -> tuple:
    props = {"line_color": _rgba(colour), "line_width": f"{width_pt * _PT_MM:.3f}",
             "line_width_unit": "MM", "line_style": "solid", "capstyle": cap,
             "joinstyle": "round", "use_custom_dash": "1" if dash_pt else "0",
             "customdash": ";".join(f"{d * _PT_MM:.3f}" for d in dash_pt) or "5;2",
             "customdash_unit": "MM"}
    return ("SimpleLine", props)


def _marker(shape: str, colour: str, size_pt: float, *, edge: str = "white",
            edge_pt: float = 0.8) -> tuple:
    return ("SimpleMarker", {
        "name": shape, "color": _rgba(colour), "outline_color": _rgba(edge),
        "outline_style": "solid", "outline_width": f"{edge_pt * _PT_MM:.3f}",
        "outline_width_unit": "MM", "size": f"{size_pt * _PT_MM:.3f}", "size_unit": "MM",
        "joinstyle": "miter"})


def _hatch(colour: str, *, spacing_pt: float = 4.0, width_pt: float = 0.5,
           angle: float = 45.0) -> tuple:
    """Diagonal hatching (the atlas ``////``)."""
    sub = _symbol("line", [_line(colour, width_pt, cap="flat")], name="@hatch")
    return ("LinePatternFill", {"angle": f"{angle:g}", "distance": f"{spacing_pt * _PT_MM:.3f}",
                                "distance_unit": "MM", "color": _rgba(colour),
                                "line_width": f"{width_pt * _PT_MM:.3f}",
                                "line_width_unit": "MM"}, sub)


def _dots(colour: str, *, spacing_pt: float = 3.5, size_pt: float = 0.9) -> tuple:
    """Return a dotted fill (the atlas ``....``)."""
    sub = _symbol("marker", [_marker("circle", colour, size_pt, edge=colour, edge_pt=0.0)],
                  name="@dots")
    d = f"{spacing_pt * _PT_MM:.3f}"
    return ("PointPatternFill", {"distance_x": d, "distance_y": d, "distance_x_unit": "MM",
                                 "distance_y_unit": "MM", "displacement_x": d,
                                 "displacement_x_unit": "MM", "displacement_y": "0",
                                 "displacement_y_unit": "MM"}, sub)


def _centroid(marker: tuple) -> tuple:
    return ("CentroidFill", {"point_on_surface": "1", "point_on_all_parts": "0"},
            _symbol("marker", [marker], name="@centroid"))


def _renderer_single(symbol: ET.Element) -> ET.Element:
    r = ET.Element("renderer-v2", type="singleSymbol", symbollevels="0", enableorderby="0",
                   forceraster="0", referencescale="-1")
    ET.SubElement(r, "symbols").append(symbol)
    return r


def _renderer_rules(layer_id: str, rules: Sequence[tuple[str, str, ET.Element]]) -> ET.Element:
    """Return a rule-based renderer from ``(label, filter expression, symbol)``."""
    r = ET.Element("renderer-v2", type="RuleRenderer", symbollevels="0", enableorderby="0",
                   forceraster="0", referencescale="-1")
    root = ET.SubElement(r, "rules", key=_key(layer_id, "root"))
    symbols = ET.SubElement(r, "symbols")
    for i, (label, expr, symbol) in enumerate(rules):
        ET.SubElement(root, "rule", key=_key(layer_id, str(i)), filter=expr, symbol=str(i),
                      label=label)
        symbol.set("name", str(i))
        symbols.append(symbol)
    return r


def _renderer_graduated(column: str, ranges: Sequence[tuple[float, float, str, str]],
                        symbol_fn, cmap_stops: Sequence[tuple[float, str]]) -> ET.Element:
    """Return a graduated colour renderer from ``(lower, upper, colour, label)``."""
    r = ET.Element("renderer-v2", type="graduatedSymbol", graduatedMethod="GraduatedColor",
                   attr=column, symbollevels="0", enableorderby="0", forceraster="0",
                   referencescale="-1")
    rng = ET.SubElement(r, "ranges")
    symbols = ET.SubElement(r, "symbols")
    for i, (lo, hi, colour, label) in enumerate(ranges):
        ET.SubElement(rng, "range", symbol=str(i), lower=repr(float(lo)), upper=repr(float(hi)),
                      label=label, render="true")
        symbols.append(symbol_fn(colour, str(i)))
    ET.SubElement(r, "source-symbol").append(symbol_fn("#808080", "0"))
    ramp = ET.SubElement(r, "colorramp", type="gradient", name="[source]")
    (_, first), (_, last) = cmap_stops[0], cmap_stops[-1]
    _options(ramp, {"color1": _rgba(first), "color2": _rgba(last), "discrete": "0",
                    "rampType": "gradient",
                    "stops": ":".join(f"{p:.4f};{_rgba(c)}" for p, c in cmap_stops[1:-1])})
    method = ET.SubElement(r, "classificationMethod", id="EqualInterval")
    ET.SubElement(method, "symmetricMode", enabled="0", symmetrypoint="0", astride="0")
    ET.SubElement(method, "labelFormat", format="%1 – %2", labelprecision="2",
                  trimtrailingzeroes="0")
    ET.SubElement(method, "parameters")
    ET.SubElement(method, "extraInformation")
    return r


def _labeling(expression: str, *, colour: str, size_pt: float, bold: bool = False,
              upper: bool = False, halo_mm: float = 0.7, priority: int = 5) -> ET.Element:
    lab = ET.Element("labeling", type="simple")
    s = ET.SubElement(lab, "settings", calloutType="simple")
    style = ET.SubElement(s, "text-style", {
        "fieldName": expression, "isExpression": "1", "fontFamily": _FONT,
        "namedStyle": "Bold" if bold else "Book", "fontWeight": "75" if bold else "50",
        "fontSize": f"{size_pt:g}", "fontSizeUnit": "Point", "textColor": _rgba(colour),
        "textOpacity": "1", "capitalization": "1" if upper else "0", "allowHtml": "0",
        "multilineHeight": "1", "fontItalic": "0", "fontUnderline": "0", "fontStrikeout": "0",
        "blendMode": "0", "fontKerning": "1", "fontLetterSpacing": "0", "fontWordSpacing": "0",
        "useSubstitutions": "0", "textOrientation": "horizontal", "legendString": "Aa"})
    ET.SubElement(style, "text-buffer", bufferDraw="1", bufferSize=f"{halo_mm:g}",
                  bufferSizeUnits="MM", bufferColor="255,255,255,255", bufferOpacity="0.9",
                  bufferNoFill="1", bufferJoinStyle="128", bufferBlendMode="0")
    ET.SubElement(s, "text-format", wrapChar="", autoWrapLength="30", multilineAlign="1",
                  plussign="0", reverseDirectionSymbol="0", placeDirectionSymbol="0",
                  formatNumbers="0", decimals="3", addDirectionSymbol="0",
                  useMaxLineLengthForAutoWrap="1")
    ET.SubElement(s, "placement", placement="1", centroidInside="1", centroidWhole="0",
                  fitInPolygonOnly="0", dist="0", distUnits="MM", offsetType="0",
                  priority=str(priority), quadOffset="4", overrunDistance="0",
                  placementFlags="10", repeatDistance="0")
    ET.SubElement(s, "rendering", obstacle="1", obstacleFactor="1", obstacleType="1",
                  displayAll="0", drawLabels="1", labelPerPart="0", mergeLines="0",
                  scaleVisibility="0", upsidedownLabels="0", limitNumLabels="0",
                  zIndex="0", fontLimitPixelSize="0", minFeatureSize="0")
    return lab


def _srs(parent: ET.Element, crs: pyproj.CRS | None) -> ET.Element:
    """Append the ``<spatialrefsys>`` of ``crs`` (empty for None: no geometry)."""
    srs = ET.SubElement(parent, "spatialrefsys")
    epsg = crs.to_epsg() if crs is not None else None
    values = {"wkt": crs.to_wkt() if crs is not None else "",
              "proj4": "",  # QGIS reads the WKT
              "srsid": "0", "srid": str(epsg or 0),
              "authid": f"EPSG:{epsg}" if epsg else "",
              "description": crs.name if crs is not None else "",
              "projectionacronym": "", "ellipsoidacronym": "",
              "geographicflag": "true" if crs is not None and crs.is_geographic else "false"}
    for k, v in values.items():
        ET.SubElement(srs, k).text = v
    return srs


# --------------------------------------------------------------------------- layers


class _Layer:
    """One project layer: a table of the GeoPackage with a style and a place in the tree."""

    def __init__(self, table: str, info: dict, *, name: str, suffix: str = "",
                 renderer: ET.Element | None = None, labeling: ET.Element | None = None,
                 checked: bool = True, group: str | None = None, alpha: float = 1.0):
        self.table, self.info, self.name = table, info, name
        # QGIS keeps a layer id only if it is longer than 10 characters
        base = table + (f"_{suffix}" if suffix else "")
        self.id = f"{base}_{uuid.uuid5(_NS, base).hex[:8]}"
        self.renderer, self.labeling = renderer, labeling
        self.checked, self.group, self.alpha = checked, group, alpha

    @property
    def spatial(self) -> bool:
        return self.info["geometry_type"] is not None


_GEOMETRY = {"Point": "Point", "MultiPoint": "Point", "LineString": "Line",
             "MultiLineString": "Line", "Polygon": "Polygon", "MultiPolygon": "Polygon"}


def _kind(info: dict) -> str:
    """``"fill"``, ``"line"``, ``"marker"`` or ``""`` (no geometry) of a layer."""
    geom = _GEOMETRY.get(str(info["geometry_type"]).replace(" Z", "").replace(" M", ""), "")
    return {"Polygon": "fill", "Line": "line", "Point": "marker"}.get(geom, "")


def _score_ranges(path: Path, lang: str) -> tuple[list, list]:
    """Classes of the score ramp (the atlas colour scale) and the ramp's colour stops."""
    import matplotlib as mpl
    from matplotlib import colors as mcolors

    from productivecity.outputs.maps import _norm_for

    table = pyogrio.read_dataframe(path, layer="sites", columns=["score"], read_geometry=False)
    score = table["score"].astype(float).dropna()
    cmap = mpl.colormaps[SCORE_CMAP]
    stops = [(p, mcolors.to_hex(cmap(p))) for p in np.linspace(0.0, 1.0, 11)]
    if not len(score):
        return [], stops
    norm = _norm_for(score)
    edges = np.linspace(norm.vmin, norm.vmax, SCORE_CLASSES_N + 1)
    edges[0] = min(edges[0], float(score.min()))
    edges[-1] = max(edges[-1], float(score.max()))
    ranges = []
    for i in range(SCORE_CLASSES_N):
        colour = mcolors.to_hex(cmap((i + 0.5) / SCORE_CLASSES_N))
        label = (f"{_i18n.format_number(edges[i], lang)} – "
                 f"{_i18n.format_number(edges[i + 1], lang)}")
        ranges.append((edges[i], edges[i + 1], colour, label))
    return ranges, stops


def _plan(path: Path, infos: dict[str, dict], lang: str) -> list[_Layer]:
    """Return the project's layers, top of the drawing first (the atlas order)."""
    from productivecity.outputs.atlas import _NEW_HUB
    from productivecity.outputs.basemap import BASEMAP_STYLE, STREET_WIDTH_PT
    from productivecity.outputs.maps import STYLE

    t = lambda key, **kw: _i18n.text(key, lang, **kw)  # noqa: E731
    single = lambda info, *layers: _renderer_single(  # noqa: E731
        _symbol(_kind(info), layers))
    used: set[str] = set()
    out: list[_Layer] = []

    def add(table, **kw):
        if table in infos:
            used.add(table)
            out.append(_Layer(table, infos[table], **kw))

    def canal(table):
        info = infos.get(table)
        if info is None:
            return
        kind = _kind(info)
        if kind == "line":
            add(table, name=t("canal"), renderer=single(
                info, _line("white", 3.2), _line(STYLE["canal_line"], 1.8)))
        elif kind == "fill":
            add(table, name=t("canal"), renderer=single(
                info, _fill(STYLE["water_fill"], STYLE["water_edge"], width_pt=0.4)))
        else:
            add(table, name=t("canal"), renderer=single(
                info, _marker("circle", STYLE["canal_line"], 4.0)))

    # places: outline and name (rank. name), on top
    if "places" in infos:
        cols = set(infos["places"]["fields"])
        name_col = "place_name" if "place_name" in cols else "name" if "name" in cols else None
        label = None
        if name_col is not None:
            expr = f'"{name_col}"'
            if "rank" in cols:
                expr = f"coalesce(to_string(\"rank\") || '. ', '') || {expr}"
            label = _labeling(expr, colour=STYLE["text"], size_pt=8.0, bold=True, priority=8)
        add("places", name=t("top_places"), labeling=label, renderer=single(
            infos["places"], _fill(None, STYLE["top_edge"], width_pt=0.9, edge_style="dash")))
    if "new_hubs" in infos:
        add("new_hubs", name=t("report_new_hubs"), checked=False, renderer=single(
            infos["new_hubs"], _fill(None, _NEW_HUB, width_pt=1.4),
            _centroid(_marker("star", _NEW_HUB, 11.0))))
    if "hubs" in infos:
        add("hubs", name=t("hubs"), renderer=single(
            infos["hubs"], *([_marker("diamond", STYLE["hub"], 8.0, edge_pt=1.0)]
                             if _kind(infos["hubs"]) == "marker" else
                             [_fill(STYLE["hub"], "white", width_pt=1.0)])))
    if "transit_stops" in infos and _kind(infos["transit_stops"]) == "marker":
        rail = _symbol("marker", [_marker("square", "white", 5.5, edge=STYLE["rail"],
                                          edge_pt=1.1)])
        expr = "lower(\"mode\") = 'rail'" if "mode" in infos["transit_stops"]["fields"] \
            else "FALSE"
        add("transit_stops", name=t("transit_stops"), renderer=_renderer_rules(
            "transit_stops", [(t("rail_stations"), expr, rail)]))
    if "study_area" in infos:
        add("study_area", name=t("study_area"), suffix="outline", renderer=single(
            infos["study_area"], _fill(None, STYLE["area_edge"], width_pt=1.0)))
    for table in ("canal_points", "canal_lines", "canal", "canal_polygons"):
        canal(table)
    if "sites" in infos:
        sites = infos["sites"]
        ranges, stops = _score_ranges(path, lang)
        if ranges and "score" in sites["fields"]:
            add("sites", name=t("score"), suffix="score", alpha=0.9,
                renderer=_renderer_graduated(
                    "score", ranges,
                    lambda c, n: _symbol("fill", [_fill(c, "white", width_pt=0.15)], name=n),
                    stops))
        rules = []
        if "status" in sites["fields"]:
            rules = [
                (t("excluded"), "\"status\" = 'excluded'",
                 _symbol("fill", [_fill(STYLE["excluded_fill"], STYLE["excluded_hatch"],
                                        width_pt=0.15),
                                  _hatch(STYLE["excluded_hatch"])])),
                (t("not_assessable"), "\"status\" = 'not assessable'",
                 _symbol("fill", [_fill(STYLE["no_data_fill"], STYLE["no_data_edge"],
                                        width_pt=0.3, edge_style="dash"),
                                  _dots(STYLE["no_data_edge"])])),
            ]
        elif "excluded" in sites["fields"]:
            rules = [(t("excluded"), "\"excluded\"",
                      _symbol("fill", [_fill(STYLE["excluded_fill"], STYLE["excluded_hatch"],
                                             width_pt=0.15),
                                       _hatch(STYLE["excluded_hatch"])]))]
        if rules:
            add("sites", name=t("sites"), suffix="status",
                renderer=_renderer_rules("sites_status", rules))
        elif not ranges:
            add("sites", name=t("sites"), renderer=single(
                sites, _fill(STYLE["no_value"], "white", width_pt=0.15)))
    if "isochrones" in infos:
        add("isochrones", name=t("isochrone_title"), checked=False, alpha=0.8, renderer=single(
            infos["isochrones"], _fill(None, "#1f77b4", width_pt=1.1)))
    if "demand_units" in infos:
        add("demand_units", name=t("demand"), checked=False, alpha=0.6, renderer=single(
            infos["demand_units"], _marker("circle", "#9a9a9a", 5.0, edge_pt=0.0)))
    if "poi" in infos:
        add("poi", name=t("qgis_poi"), checked=False, renderer=single(
            infos["poi"], _marker("circle", "#8a8378", 3.0, edge_pt=0.3)))
    if "canal_zone" in infos:
        add("canal_zone", name=t("canal_zone"), renderer=single(
            infos["canal_zone"], _fill(None, STYLE["canal_zone_edge"], width_pt=0.8,
                                       edge_style="dash")))
    if "industrial_zones" in infos:
        add("industrial_zones", name=t("industrial_zones"), renderer=single(
            infos["industrial_zones"], _fill(STYLE["industrial_fill"],
                                             STYLE["industrial_outline"], width_pt=0.6)))
    if "units_neighbourhoods" in infos:
        add("units_neighbourhoods", name=t("qgis_neighbourhoods"), checked=False,
            renderer=single(infos["units_neighbourhoods"],
                            _fill(None, STYLE["municipality_edge"], width_pt=0.4,
                                  edge_style="dash")))
    if "units_municipalities" in infos:
        munis = infos["units_municipalities"]
        label = (_labeling('"name"', colour=STYLE["municipality_text"], size_pt=7.0, bold=True,
                           upper=True, priority=3) if "name" in munis["fields"] else None)
        add("units_municipalities", name=t("municipalities"), labeling=label,
            renderer=single(munis, _fill(None, STYLE["municipality_edge"], width_pt=0.6)))
    # anything else with a geometry (a layer of the user's own): plain, switched off
    for table, info in infos.items():
        if table not in used and info["geometry_type"] is not None \
                and not table.startswith("basemap_") and table != "study_area":
            kind = _kind(info)
            style = {"fill": _fill("#d9d9d9", "#8a8378", width_pt=0.4),
                     "line": _line("#8a8378", 0.8),
                     "marker": _marker("circle", "#8a8378", 4.0)}.get(kind)
            add(table, name=table, checked=False,
                renderer=single(info, style) if style else None)
    # the base map, under everything but the study area's fill
    base = t("qgis_basemap")
    if "basemap_places" in infos:
        add("basemap_places", name=t("qgis_basemap_places"), group=base, checked=False,
            renderer=single(infos["basemap_places"],
                            _marker("circle", BASEMAP_STYLE["place_text"], 2.0, edge_pt=0.0)))
    if "basemap_rail" in infos:
        add("basemap_rail", name=t("basemap_rail"), group=base, renderer=single(
            infos["basemap_rail"], _line(BASEMAP_STYLE["rail"], 0.6),
            _line("white", 0.27, dash_pt=(1.8, 1.8), cap="flat")))
    if "basemap_streets" in infos:
        info = infos["basemap_streets"]
        k = 0.6  # the atlas overview's scale factor of street widths
        groups = [("qgis_streets_major", ("motorway", "primary", "secondary", "tertiary"),
                   BASEMAP_STYLE["street_major"]),
                  ("qgis_streets_minor", ("residential", "service"),
                   BASEMAP_STYLE["street_minor"]),
                  ("qgis_paths", ("path",), BASEMAP_STYLE["street_path"])]
        if "kind" in info["fields"]:
            rules = []
            for key, kinds, colour in groups:
                width = STREET_WIDTH_PT[kinds[-1]] * k
                rules.append((t(key), "\"kind\" IN (" + ", ".join(f"'{x}'" for x in kinds) + ")",
                              _symbol("line", [_line(colour, width)])))
            renderer = _renderer_rules("basemap_streets", rules)
        else:
            renderer = single(info, _line(BASEMAP_STYLE["street_minor"], 0.5))
        add("basemap_streets", name=t("basemap_streets"), group=base, renderer=renderer)
    for table in ("basemap_water_lines", "basemap_water", "basemap_water_polygons"):
        if table in infos:
            kind = _kind(infos[table])
            style = (_fill(BASEMAP_STYLE["water"]) if kind == "fill"
                     else _line(BASEMAP_STYLE["water_line"], 0.8))
            add(table, name=t("basemap_water"), group=base,
                renderer=single(infos[table], style))
    if "basemap_green" in infos:
        add("basemap_green", name=t("basemap_green"), group=base, renderer=single(
            infos["basemap_green"], _fill(BASEMAP_STYLE["green"])))
    for table, info in infos.items():  # other base-map layers of the GeoPackage
        if table.startswith("basemap_") and table not in used and info["geometry_type"]:
            add(table, name=table, group=base, checked=False)
    if "study_area" in infos:
        add("study_area", name=t("study_area"), suffix="fill", renderer=single(
            infos["study_area"], _fill(STYLE["area_fill"])))
    # attribute tables
    for table, info in infos.items():
        if info["geometry_type"] is None:
            add(table, name=table, group=t("qgis_tables"))
    return out


# --------------------------------------------------------------------------- project


def _maplayer(layer: _Layer, source: str, crs: pyproj.CRS | None) -> ET.Element:
    info = layer.info
    geom = _GEOMETRY.get(str(info["geometry_type"]), "No geometry") if layer.spatial \
        else "No geometry"
    attrs = {"type": "vector", "geometry": geom,
             "wkbType": str(info["geometry_type"]).replace(" ", "") if layer.spatial
             else "NoGeometry",
             "hasScaleBasedVisibilityFlag": "0", "minScale": "100000000", "maxScale": "0",
             "readOnly": "0", "labelsEnabled": "1" if layer.labeling is not None else "0",
             "simplifyDrawingHints": "1", "simplifyDrawingTol": "1", "simplifyLocal": "1",
             "simplifyMaxScale": "1", "simplifyAlgorithm": "0", "symbologyReferenceScale": "-1",
             "styleCategories": "AllStyleCategories", "autoRefreshEnabled": "0",
             "autoRefreshTime": "0", "refreshOnNotifyEnabled": "0",
             "refreshOnNotifyMessage": "", "legendPlaceholderImage": ""}
    ml = ET.Element("maplayer", attrs)
    bounds = info.get("total_bounds")
    if layer.spatial and bounds is not None and np.all(np.isfinite(bounds)):
        ext = ET.SubElement(ml, "extent")
        for k, v in zip(("xmin", "ymin", "xmax", "ymax"), bounds, strict=True):
            ET.SubElement(ext, k).text = repr(float(v))
    ET.SubElement(ml, "id").text = layer.id
    ET.SubElement(ml, "datasource").text = source
    ET.SubElement(ml, "layername").text = layer.name
    _srs(ET.SubElement(ml, "srs"), crs if layer.spatial else None)
    ET.SubElement(ml, "provider", encoding="UTF-8").text = "ogr"
    ET.SubElement(ml, "map-layer-style-manager", current="default")
    if layer.renderer is not None:
        ml.append(layer.renderer)
    if layer.labeling is not None:
        ml.append(layer.labeling)
    ET.SubElement(ml, "blendMode").text = "0"
    ET.SubElement(ml, "featureBlendMode").text = "0"
    ET.SubElement(ml, "layerOpacity").text = f"{layer.alpha:g}"
    ET.SubElement(ml, "legend", type="default-vector", showLabelLegend="0")
    ET.SubElement(ml, "previewExpression").text = ""
    ET.SubElement(ml, "layerGeometryType").text = {
        "Point": "0", "Line": "1", "Polygon": "2"}.get(geom, "4")
    return ml


def _layer_infos(path: Path) -> dict[str, dict]:
    """Each layer's geometry type, fields, feature count, CRS and bounds, as GDAL reads them.

    Read from the GeoPackage's own tables (one SQLite connection) where they say it
    plainly; a layer they do not (a geometry type or CRS GDAL would have to work
    out, bounds not stored) is read with GDAL (``pyogrio.read_info``), which opens
    the file again for each layer.
    """
    try:
        tables = _gpkg_tables(path)
    except (sqlite3.Error, OSError):
        tables = None
    infos = {}
    for name, _geom in pyogrio.list_layers(path):
        name = str(name)
        info = None if tables is None else tables.get(name)
        if info is None:
            info = pyogrio.read_info(path, layer=name, force_total_bounds=True)
        infos[name] = {"geometry_type": info["geometry_type"],
                       "fields": [str(f) for f in info["fields"]],
                       "features": int(info["features"]), "crs": info["crs"],
                       "total_bounds": info.get("total_bounds")}
    return infos


#: GeoPackage geometry type names (2D) as GDAL names them.
_GPKG_GEOMETRY_TYPES = {
    "POINT": "Point", "LINESTRING": "LineString", "POLYGON": "Polygon",
    "MULTIPOINT": "MultiPoint", "MULTILINESTRING": "MultiLineString",
    "MULTIPOLYGON": "MultiPolygon", "GEOMETRYCOLLECTION": "GeometryCollection",
    "GEOMETRY": "Unknown"}


def _gpkg_tables(path: Path) -> dict[str, dict]:
    """Return the layers a GeoPackage's tables describe plainly (see :func:`_layer_infos`)."""
    import contextlib

    out = {}
    uri = f"{Path(path).resolve().as_uri()}?mode=ro"
    with contextlib.closing(sqlite3.connect(uri, uri=True)) as db:
        names = {str(r[0]) for r in db.execute("SELECT name FROM sqlite_master")}
        counts = (dict(db.execute("SELECT table_name, feature_count FROM gpkg_ogr_contents"))
                  if "gpkg_ogr_contents" in names else {})
        geometry = {str(r[0]): r[1:] for r in db.execute(
            "SELECT table_name, column_name, geometry_type_name, z, m "
            "FROM gpkg_geometry_columns")}
        srs = {r[0]: r[1:] for r in db.execute(
            "SELECT srs_id, organization, organization_coordsys_id FROM gpkg_spatial_ref_sys")}
        for table, kind, srs_id, *bounds in db.execute(
                "SELECT table_name, data_type, srs_id, min_x, min_y, max_x, max_y "
                "FROM gpkg_contents"):
            table = str(table)
            count = counts.get(table)
            columns = db.execute(f'PRAGMA table_info("{table.replace(chr(34), 2 * chr(34))}")'
                                 ).fetchall()
            if count is None or not columns:
                continue
            keys = [c[1] for c in columns if c[5]]  # the primary key: GDAL's FID column
            if len(keys) != 1:
                continue
            if kind == "attributes" and table not in geometry:
                out[table] = {"geometry_type": None, "crs": None, "features": int(count),
                              "fields": [c[1] for c in columns if c[1] != keys[0]],
                              "total_bounds": None}
                continue
            if kind != "features" or table not in geometry:
                continue
            column, type_name, z, m = geometry[table]
            org, code = srs.get(srs_id, (None, None))
            if (str(type_name).upper() not in _GPKG_GEOMETRY_TYPES or z or m or not count
                    or any(b is None for b in bounds) or str(org).upper() != "EPSG"
                    or code is None):
                continue  # left to GDAL
            out[table] = {"geometry_type": _GPKG_GEOMETRY_TYPES[str(type_name).upper()],
                          "crs": f"EPSG:{int(code)}", "features": int(count),
                          "fields": [c[1] for c in columns if c[1] not in (keys[0], column)],
                          "total_bounds": tuple(float(b) for b in bounds)}
    return out


def project_xml(gpkg: str | os.PathLike, *, lang: str = "en", title: str | None = None,
                gpkg_ref: str | None = None) -> str:
    """Return the ``.qgs`` XML of a project over every layer of ``gpkg``.

    Parameters
    ----------
    gpkg : path-like
        The run's GeoPackage (``results.gpkg``).
    lang : {"en", "nl", "fr"}
        Language of layer names and legends.
    title : str, optional
        Project title (default: the study area's name, else the file's stem).
    gpkg_ref : str, optional
        How layer sources name the GeoPackage (default ``"./<file name>"``: relative
        to the project, which sits in the same folder).

    Returns
    -------
    str
    """
    path = Path(gpkg)
    if not path.is_file():
        raise SourceNotFoundError(f"no GeoPackage {path} to build the QGIS project on")
    lang = _i18n.check_lang(lang)
    infos = _layer_infos(path)
    crss = {info["crs"] for info in infos.values() if info["geometry_type"] is not None}
    if not crss:
        raise SchemaError(f"{path}: no layer with a geometry; a QGIS project needs one")
    if len(crss) > 1:
        raise SchemaError(f"{path}: layers in several CRSs {sorted(crss)}; the run writes "
                          "one CRS")
    crs = pyproj.CRS.from_user_input(crss.pop())
    ref = gpkg_ref or f"./{path.name}"
    layers = _plan(path, infos, lang)

    root = ET.Element("qgis", projectname=title or "", version=QGIS_FORMAT_VERSION)
    ET.SubElement(root, "homePath", path="")
    ET.SubElement(root, "title").text = title or ""
    ET.SubElement(root, "autotransaction", active="0")
    ET.SubElement(root, "evaluateDefaultValues", active="0")
    ET.SubElement(root, "trust", active="0")
    _srs(ET.SubElement(root, "projectCrs"), crs)

    tree = ET.SubElement(root, "layer-tree-group")
    groups: dict[str, ET.Element] = {}
    for layer in layers:
        parent = tree
        if layer.group is not None:
            if layer.group not in groups:
                groups[layer.group] = ET.SubElement(
                    tree, "layer-tree-group", name=layer.group, checked="Qt::Checked",
                    expanded="0" if layer.group == _i18n.text("qgis_tables", lang) else "1")
            parent = groups[layer.group]
        ET.SubElement(parent, "layer-tree-layer", id=layer.id, name=layer.name,
                      source=f"{ref}|layername={layer.table}", providerKey="ogr",
                      checked="Qt::Checked" if layer.checked else "Qt::Unchecked",
                      expanded="1" if layer.spatial else "0")
    order = ET.SubElement(tree, "custom-order", enabled="0")
    for layer in layers:
        ET.SubElement(order, "item").text = layer.id

    projectlayers = ET.SubElement(root, "projectlayers")
    for layer in layers:
        projectlayers.append(_maplayer(layer, f"{ref}|layername={layer.table}", crs))
    layerorder = ET.SubElement(root, "layerorder")
    for layer in layers:
        ET.SubElement(layerorder, "layer", id=layer.id)

    props = ET.SubElement(root, "properties")
    paths = ET.SubElement(props, "Paths")
    ET.SubElement(paths, "Absolute", type="bool").text = "false"
    srs = ET.SubElement(props, "SpatialRefSys")
    ET.SubElement(srs, "ProjectionsEnabled", type="int").text = "1"
    gui = ET.SubElement(props, "Gui")
    for part in ("Red", "Green", "Blue"):
        ET.SubElement(gui, f"CanvasColor{part}Part", type="int").text = "255"

    extent = (infos.get("study_area") or infos.get("sites") or {}).get("total_bounds")
    if extent is None or not np.all(np.isfinite(extent)):
        extent = next(i["total_bounds"] for i in infos.values() if i["geometry_type"])
    x0, y0, x1, y1 = (float(v) for v in extent)
    pad = 0.04 * max(x1 - x0, y1 - y0)
    x0, y0, x1, y1 = x0 - pad, y0 - pad, x1 + pad, y1 + pad
    view = ET.SubElement(root, "ProjectViewSettings", UseProjectScales="0", rotation="0")
    default = ET.SubElement(view, "DefaultViewExtent", xmin=repr(x0), ymin=repr(y0),
                            xmax=repr(x1), ymax=repr(y1))
    _srs(default, crs)
    canvas = ET.SubElement(root, "mapcanvas", name="theMapCanvas", annotationsVisible="1")
    ET.SubElement(canvas, "units").text = "meters" if not crs.is_geographic else "degrees"
    ext = ET.SubElement(canvas, "extent")
    for k, v in zip(("xmin", "ymin", "xmax", "ymax"), (x0, y0, x1, y1), strict=True):
        ET.SubElement(ext, k).text = repr(v)
    ET.SubElement(canvas, "rotation").text = "0"
    _srs(ET.SubElement(canvas, "destinationsrs"), crs)

    ET.indent(root, space=" ")
    return ("<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
            + ET.tostring(root, encoding="unicode") + "\n")


def write_qgis_project(gpkg: str | os.PathLike, path: str | os.PathLike | None = None, *,
                       lang: str = "en", title: str | None = None,
                       overwrite: bool = False) -> Path:
    """Write a QGIS project (``.qgz``) over every layer of ``gpkg``, styled as the atlas.

    No QGIS is needed: the project XML is written here (QGIS 3.22 format, read by
    later versions). Layer sources are relative (``./results.gpkg|layername=...``),
    so the project must sit in the GeoPackage's folder, and the folder can be moved.

    Parameters
    ----------
    gpkg : path-like
        The run's GeoPackage.
    path : path-like, optional
        Target ``.qgz`` (default: :data:`PROJECT_FILE` beside ``gpkg``); it must be in
        the GeoPackage's folder.
    lang : {"en", "nl", "fr"}
        Language of layer names and legends.
    title : str, optional
        Project title.
    overwrite : bool, default False

    Returns
    -------
    Path

    Raises
    ------
    SourceNotFoundError
        ``gpkg`` does not exist.
    SchemaError
        ``path`` is not in the GeoPackage's folder, or the GeoPackage has no layer
        with a geometry.
    """
    gpkg = Path(gpkg)
    target = Path(path) if path is not None else gpkg.with_name(PROJECT_FILE)
    if target.suffix.lower() != ".qgz":
        raise SchemaError(f"QGIS project {target}: expected a file name ending in .qgz")
    if target.resolve().parent != gpkg.resolve().parent:
        raise SchemaError(f"QGIS project {target}: must be in the folder of {gpkg} (its layer "
                          "sources are relative)")
    xml = project_xml(gpkg, lang=lang, title=title)
    with atomic_path(target, overwrite=overwrite) as tmp:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            entry = zipfile.ZipInfo(target.with_suffix(".qgs").name, (1980, 1, 1, 0, 0, 0))
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            zf.writestr(entry, xml.encode("utf-8"))
    return target
