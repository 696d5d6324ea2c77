"""Exports of ranked sites: GeoPackage, GeoParquet, GeoTIFF surface, CSV and HTML report.

All writers take the scored candidate sites (a GeoDataFrame indexed by site id
with ``score``, ``rank``, ``excluded``, ``excluded_reason``, ``contrib_*`` and
indicator columns, e.g. the site table joined with
:attr:`productivecity.siting.scoring.SuitabilityResult.table`) and optionally the
rank stability of :func:`productivecity.siting.sensitivity.monte_carlo_weights`
(``topk_share``, ``rank_p05`` ... ``rank_max``). Every writer puts the sites in
the same order (:func:`ranked_sites`: best rank first, excluded sites last,
ties by site id), writes to a temporary file and renames it into place, and
refuses to replace an existing file unless ``overwrite=True``.

=====================  ==========================================================
:func:`write_gpkg`     one GeoPackage: ``sites`` + every layer (+ ``isochrones``)
:func:`write_geoparquet`  the ranked sites as GeoParquet (the sites' CRS)
:func:`write_suitability_raster`  a score surface as GeoTIFF (the sites' CRS, nodata,
                       overviews)
:func:`write_sites_csv`  the ranked sites as CSV with centroid coordinates
:func:`write_workbook`  an XLSX workbook for people: places, sites, indicators,
                       criteria, about
:func:`write_report`   an HTML report: top sites, breakdown, stability, maps
=====================  ==========================================================

The CSV files and the workbook are tables for people: each number is rounded to
its meaningful precision (:func:`people_decimals`). The GeoPackage and the
GeoParquet keep every value at full precision; they are the files to analyse.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
from collections.abc import Mapping
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from productivecity._errors import EmptyLayerError, ParameterError, SchemaError
from productivecity.crs import require_metric
from productivecity.io import atomic_path, write_geopackage
from productivecity.outputs.maps import (
    _check_sites,
)
from productivecity.siting.scoring import PRECISION_BY_SUFFIX, SITE_STATUSES, site_statuses

logger = logging.getLogger(__name__)


#: Rank-stability columns taken from a Monte-Carlo result, in this order.
STABILITY_COLUMNS = ("topk_share", "rank_p05", "rank_p50", "rank_p95", "rank_min", "rank_max")


_LEAD = ("rank", "score")


_TAIL = ("status", "excluded", "excluded_reason", "missing_inputs")


def ranked_sites(sites: gpd.GeoDataFrame, *, stability=None) -> gpd.GeoDataFrame:
    """Return the sites in export order with rank stability joined.

    Parameters
    ----------
    sites : GeoDataFrame
        Scored sites: index = site id; ``score`` (unitless), ``rank`` (1 = best,
        missing unless eligible), ``excluded`` (bool), optionally ``status``
        and ``missing_inputs``; other columns kept.
    stability : MonteCarloResult or DataFrame, optional
        Rank stability aligned to the site ids (its ``table`` for a
        :class:`~productivecity.siting.sensitivity.MonteCarloResult`); the columns in
        :data:`STABILITY_COLUMNS` it has are joined. Left out when the sites
        already have them.

    Returns
    -------
    GeoDataFrame
        A copy, index named ``site_id`` (unless named), rows: the eligible
        sites by rank (best first), then the excluded, then the not assessable
        ones, ties by site id; columns ``rank``, ``score``, stability columns,
        ``contrib_*``, the other columns in input order, ``status``,
        ``excluded``, ``excluded_reason``, ``missing_inputs`` (those present),
        geometry.

    Raises
    ------
    SchemaError
        Missing columns, or stability rows that match no site id.
    """
    sites = _check_sites(sites, ["score", "rank", "excluded"]).copy()
    if sites.index.has_duplicates:
        dup = sites.index[sites.index.duplicated()].unique()[:5].tolist()
        raise SchemaError(f"candidate sites: site ids (index) must be unique; repeated: {dup}")
    if sites.index.name is None:
        sites.index.name = "site_id"
    if stability is not None:
        table = getattr(stability, "table", stability)
        if not isinstance(table, pd.DataFrame):
            raise SchemaError("stability must be a MonteCarloResult or a DataFrame, got "
                              f"{type(stability).__name__}")
        cols = [c for c in STABILITY_COLUMNS if c in table.columns and c not in sites.columns]
        if cols:
            common = table.index.intersection(sites.index)
            if not len(common):
                raise SchemaError(
                    "stability table matches none of the site ids; e.g. stability ids "
                    f"{table.index[:3].tolist()}, site ids {sites.index[:3].tolist()}"
                )
            for c in cols:
                sites[c] = table[c].reindex(sites.index).astype(float)
    geom = sites.geometry.name
    stab = [c for c in STABILITY_COLUMNS if c in sites.columns]
    contrib = [c for c in sites.columns if str(c).startswith("contrib_")]
    lead = [*_LEAD, *stab, *contrib]
    tail = [c for c in _TAIL if c in sites.columns]
    rest = [c for c in sites.columns if c not in lead and c not in tail and c != geom]
    sites = sites[[*lead, *rest, *tail, geom]]
    rank = pd.to_numeric(sites["rank"], errors="coerce").astype(float)
    state = site_statuses(sites).map({s: i for i, s in enumerate(SITE_STATUSES)})
    key = pd.DataFrame({"excl": state.to_numpy(), "rank": rank.fillna(np.inf).to_numpy(),
                        "id": sites.index.astype(str)})
    order = key.sort_values(["excl", "rank", "id"], kind="stable").index.to_numpy()
    return sites.iloc[order]


_DIMENSION = {"Point": "points", "MultiPoint": "points", "LineString": "lines",
              "MultiLineString": "lines", "Polygon": "polygons", "MultiPolygon": "polygons"}


def _split_by_dimension(name: str, gdf: gpd.GeoDataFrame) -> dict[str, gpd.GeoDataFrame]:
    """One layer per geometry dimension (``<name>_lines``, ...) when a layer mixes them."""
    kinds = gdf.geometry.geom_type.map(_DIMENSION).fillna("other")
    if kinds.nunique() <= 1:
        return {name: gdf}
    return {f"{name}_{kind}": gdf[kinds == kind] for kind in sorted(kinds.unique())}


def write_gpkg(
    sites: gpd.GeoDataFrame,
    layers,
    path: str | os.PathLike,
    *,
    stability=None,
    isochrones: gpd.GeoDataFrame | None = None,
    tables: Mapping[str, pd.DataFrame] | None = None,
    overwrite: bool = False,
) -> Path:
    """Write the ranked sites and every layer into one GeoPackage (QGIS-ready).

    Parameters
    ----------
    sites : GeoDataFrame
        Scored sites (see :func:`ranked_sites`).
    layers : LayerSet or mapping of str to GeoDataFrame, optional
        Context layers, written under their names after ``sites``; their index
        becomes a column (e.g. ``zone_id``, ``hub_id``). A layer that mixes
        points, lines and polygons (e.g. ``canal``: centre lines and water
        areas) is written as one layer per kind, ``<name>_lines``,
        ``<name>_polygons``, ``<name>_points``, as GIS programs expect.
    path : path-like
        Target ``.gpkg``.
    stability : MonteCarloResult or DataFrame, optional
        Rank stability joined to the sites.
    isochrones : GeoDataFrame, optional
        Indexed by ``(origin, time_min)``; written as layer ``isochrones`` with
        columns ``origin`` and ``time_min``.
    tables : mapping of str to DataFrame, optional
        Attribute tables (no geometry) written last under their names, e.g. the
        run's criteria and indicator definitions.
    overwrite : bool, default False

    Returns
    -------
    Path

    Raises
    ------
    SchemaError
        A layer or table named ``sites``, or two with one name.

    Notes
    -----
    Layer ``sites`` has one row per site in :func:`ranked_sites` order, with
    ``site_id`` as a column; ``rank`` is an integer field, empty (NULL) for
    excluded sites; ``excluded`` is a boolean field. Values are written at full
    precision (for analysis; the CSV and XLSX tables are rounded for people).
    """
    out: dict[str, gpd.GeoDataFrame] = {"sites": ranked_sites(sites, stability=stability)
                                        .reset_index()}
    data = getattr(layers, "layers", layers) or {}
    for name, gdf in data.items():
        if name in out:
            raise SchemaError(f"layer name {name!r} is reserved for the ranked sites")
        if gdf is None:
            continue
        for part, sub in _split_by_dimension(name, gdf).items():
            out[part] = sub.reset_index() if sub.index.name else sub
    if isochrones is not None:
        iso = isochrones.copy()
        iso.index = iso.index.set_names(["origin", "time_min"][: iso.index.nlevels])
        out["isochrones"] = iso.reset_index()
    for name, table in (tables or {}).items():
        if name in out:
            raise SchemaError(f"GeoPackage {Path(path).name}: table name {name!r} is already "
                              f"a layer")
        out[name] = table
    return write_geopackage(out, path, overwrite=overwrite)


def write_geoparquet(sites: gpd.GeoDataFrame, path: str | os.PathLike, *, stability=None,
                     overwrite: bool = False) -> Path:
    """Write the ranked sites as GeoParquet (the sites' CRS, site id as a column).

    Values are written at full precision (for analysis; the CSV and XLSX tables
    are rounded for people).

    Parameters
    ----------
    sites : GeoDataFrame
    path : path-like
        Target ``.parquet``.
    stability : MonteCarloResult or DataFrame, optional
    overwrite : bool, default False

    Returns
    -------
    Path
    """
    table = ranked_sites(sites, stability=stability).reset_index()
    with atomic_path(path, overwrite=overwrite) as tmp:
        table.to_parquet(tmp, index=False, compression="zstd")
    return Path(path)


def with_centroid_columns(frame: gpd.GeoDataFrame) -> pd.DataFrame:
    """``frame`` without its geometry, with its centroid as columns.

    ``centroid_x_m``, ``centroid_y_m`` (the frame's CRS, metres, 2 decimals) and
    ``centroid_lon``, ``centroid_lat`` (WGS 84, 7 decimals).
    """
    cent = frame.geometry.centroid
    wgs = cent.to_crs(4326)
    df = pd.DataFrame(frame.drop(columns=frame.geometry.name))
    df["centroid_x_m"] = cent.x.round(2)
    df["centroid_y_m"] = cent.y.round(2)
    df["centroid_lon"] = wgs.x.round(7)
    df["centroid_lat"] = wgs.y.round(7)
    return df


#: ``[outputs] csv_style``: ``"auto"`` picks by the output language
#: (:data:`SEMICOLON_LANGUAGES`), ``"comma"`` or ``"semicolon"`` forces one.
CSV_STYLES = ("auto", "comma", "semicolon")

#: Languages whose spreadsheet programs expect ``;`` between fields and decimal
#: commas (``"auto"`` style).
SEMICOLON_LANGUAGES = ("nl", "fr")


@dataclasses.dataclass(frozen=True)
class CsvStyle:
    """How a CSV table is written: field separator, decimal mark, encoding.

    Attributes
    ----------
    name : {"comma", "semicolon"}
    sep : str
        Field separator.
    decimal : str
        Decimal mark of numbers.
    encoding : str
        ``"utf-8"``; ``"utf-8-sig"`` (UTF-8 with a byte-order mark) for the
        semicolon style, so that Excel reads accents correctly.
    """

    name: str
    sep: str
    decimal: str
    encoding: str


_CSV_STYLES = {"comma": CsvStyle("comma", ",", ".", "utf-8"),
               "semicolon": CsvStyle("semicolon", ";", ",", "utf-8-sig")}


def csv_style(style: str | CsvStyle = "auto", lang: str = "en") -> CsvStyle:
    """Return the CSV style of a run.

    Parameters
    ----------
    style : {"auto", "comma", "semicolon"} or CsvStyle
        ``"auto"``: semicolons and decimal commas (UTF-8 with BOM) for the
        languages in :data:`SEMICOLON_LANGUAGES`, else commas and decimal points
        (UTF-8).
    lang : str
        Output language (``[outputs] lang``).

    Returns
    -------
    CsvStyle

    Raises
    ------
    ParameterError
        An unknown style, naming the styles available.

    Examples
    --------
    >>> csv_style("auto", "fr").sep, csv_style("auto", "en").sep
    (';', ',')
    """
    if isinstance(style, CsvStyle):
        return style
    key = str(style).strip().lower()
    if key == "auto":
        key = "semicolon" if str(lang).strip().lower() in SEMICOLON_LANGUAGES else "comma"
    if key not in _CSV_STYLES:
        raise ParameterError(f"csv_style {style!r} is not known; use one of {list(CSV_STYLES)}")
    return _CSV_STYLES[key]


#: Decimals of scores, contributions and shares in 0..1 in tables for people.
SCORE_DECIMALS = 4

#: Centroid coordinates: the decimals :func:`with_centroid_columns` rounds them to.
COORDINATE_DECIMALS = {"centroid_x_m": 2, "centroid_y_m": 2, "centroid_lon": 7,
                       "centroid_lat": 7}

_SCORE_COLUMNS = ("score", "topk_share", "weight", "weight_used")
_SCORE_PREFIXES = ("contrib_", "std_")


def _is_rank(column: str) -> bool:
    return column == "rank" or column.startswith("rank_") or column.endswith("_rank")


def people_decimals(frame: pd.DataFrame) -> dict[str, int]:
    """Return the decimals each numeric column of ``frame`` is shown with.

    Scores, contributions (``contrib_*``) and shares in 0..1 (``topk_share``,
    weights): :data:`SCORE_DECIMALS`; centroid coordinates: as
    :data:`COORDINATE_DECIMALS`; ranks: 0 (1 if a percentile falls between two
    ranks); other columns: the meaningful precision of their unit suffix
    (:func:`productivecity.siting.scoring.indicator_precision`: persons ``_n`` and
    metres ``_m`` whole, ``_min`` and ``_pct`` one decimal, ``_ha`` two, ...),
    else a precision relative to their largest value. Integer columns: 0.

    Parameters
    ----------
    frame : DataFrame

    Returns
    -------
    dict of str to int
        Numeric (not boolean) columns only.
    """
    from productivecity.siting.scoring import indicator_precision

    out: dict[str, int] = {}
    for col in frame.columns:
        s = frame[col]
        name = str(col)
        if pd.api.types.is_bool_dtype(s) or not pd.api.types.is_numeric_dtype(s):
            continue
        if name in COORDINATE_DECIMALS:
            out[name] = COORDINATE_DECIMALS[name]
        elif pd.api.types.is_integer_dtype(s):
            out[name] = 0
        elif name in _SCORE_COLUMNS or name.startswith(_SCORE_PREFIXES):
            out[name] = SCORE_DECIMALS
        elif _is_rank(name):
            x = s.dropna().to_numpy(float)
            out[name] = 0 if np.allclose(x, np.round(x)) else 1
        else:
            p = indicator_precision(name, s.astype(float))
            out[name] = max(0, -math.floor(math.log10(p) + 1e-9))
    return out


def round_for_people(frame: pd.DataFrame) -> pd.DataFrame:
    """Return a copy of ``frame`` with each number rounded to :func:`people_decimals`.

    Columns shown with no decimals become nullable integers (``Int64``, empty
    where missing); others are floats rounded to their decimals (no ``-0.0``).
    Text, boolean and geometry columns are kept as they are.
    """
    out = frame.copy()
    for col, d in people_decimals(frame).items():
        x = pd.to_numeric(frame[col], errors="coerce").astype(float)
        if d == 0:
            out[col] = x.round().astype("Int64")
        else:
            out[col] = x.round(d) + 0.0  # + 0.0: no "-0.0"
    return out


def _csv_text_columns(frame: pd.DataFrame, style: CsvStyle) -> pd.DataFrame:
    """``frame`` rounded, its floats as text with fixed decimals and the style's mark."""
    decimals = people_decimals(frame)
    out = round_for_people(frame)
    for col, d in decimals.items():
        if d == 0:
            continue
        text = out[col].map(lambda v, d=d: "" if pd.isna(v) else f"{v:.{d}f}")
        out[col] = text.str.replace(".", style.decimal, regex=False) \
            if style.decimal != "." else text
    return out


def write_table_csv(frame: pd.DataFrame, path: str | os.PathLike, *,
                    style: str | CsvStyle = "comma", lang: str = "en",
                    overwrite: bool = False) -> Path:
    """Write a table for people as CSV: numbers rounded, in the style asked for.

    Parameters
    ----------
    frame : DataFrame
        Written with its index (if named) as the first column.
    path : path-like
    style : {"auto", "comma", "semicolon"} or CsvStyle, default "comma"
        See :func:`csv_style`: ``"comma"`` is UTF-8, ``,`` and ``.`` decimals;
        ``"semicolon"`` is UTF-8 with BOM (Excel then reads accents correctly),
        ``;`` and ``,`` decimals.
    lang : str, default "en"
        Output language, for ``style="auto"``.
    overwrite : bool, default False

    Returns
    -------
    Path
        Each number rounded to its meaningful precision (:func:`people_decimals`)
        with a fixed number of decimals per column; Unix line ends.
    """
    st = csv_style(style, lang)
    table = _csv_text_columns(frame, st)
    with atomic_path(path, overwrite=overwrite) as tmp:
        table.to_csv(tmp, index=frame.index.name is not None, sep=st.sep,
                     encoding=st.encoding, lineterminator="\n")
    return Path(path)


def write_sites_csv(sites: gpd.GeoDataFrame, path: str | os.PathLike, *, stability=None,
                    wkt: bool = False, style: str | CsvStyle = "comma", lang: str = "en",
                    overwrite: bool = False) -> Path:
    """Write the ranked sites as a CSV table for people (rounded values).

    Geometry is given as the centroid of each site in the sites' CRS
    (``centroid_x_m``, ``centroid_y_m``, metres) and in WGS 84
    (``centroid_lon``, ``centroid_lat``, degrees); with ``wkt=True`` also the full
    polygon as ``geometry_wkt`` (the sites' CRS). Every number is rounded to its
    meaningful precision (:func:`people_decimals`: persons whole, minutes and
    percentages to one decimal, hectares to two, scores and contributions to
    four); the GeoPackage and GeoParquet keep full precision for analysis.

    Parameters
    ----------
    sites : GeoDataFrame
    path : path-like
        Target ``.csv``.
    stability : MonteCarloResult or DataFrame, optional
    wkt : bool, default False
        Add the ``geometry_wkt`` column.
    style : {"auto", "comma", "semicolon"} or CsvStyle, default "comma"
        ``"comma"``: UTF-8, ``,`` between fields, ``.`` decimals;
        ``"semicolon"``: UTF-8 with BOM, ``;`` and decimal commas (for Dutch and
        French spreadsheets); ``"auto"``: by ``lang`` (:func:`csv_style`).
    lang : str, default "en"
    overwrite : bool, default False

    Returns
    -------
    Path
        Rows as :func:`ranked_sites`; first column ``site_id``; ``rank`` empty for
        excluded sites.
    """
    table = ranked_sites(sites, stability=stability)
    df = with_centroid_columns(table)
    if wkt:
        df["geometry_wkt"] = table.geometry.to_wkt(rounding_precision=2, trim=True)
    return write_table_csv(df, path, style=style, lang=lang, overwrite=overwrite)


#: Sheets of the XLSX workbook, in order (:func:`write_workbook`).
WORKBOOK_SHEETS = ("places", "sites", "indicators", "criteria", "about")

#: Columns moved to the front of the sheets (after the id), those present.
_PLACE_FRONT = ("rank", "place_name", "score", "topk_share")
_SITE_FRONT = ("rank", "score", "place_name", "status")


def _front(frame: pd.DataFrame, front) -> pd.DataFrame:
    lead = [c for c in front if c in frame.columns]
    return frame[[*lead, *(c for c in frame.columns if c not in lead)]]


def _number_format(column: str, decimals: int) -> str:
    """Excel number format (Excel shows it with the reader's own separators)."""
    frac = "." + "0" * decimals if decimals else ""
    if column in COORDINATE_DECIMALS or _is_rank(column) or column.endswith("_id"):
        return "0" + frac
    return "#,##0" + frac


def _cell(value):
    """Return a value the workbook writer takes: None for missing, Python scalars."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float | np.floating) and not np.isfinite(value):
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value if isinstance(value, str | int | float | bool) else str(value)


def _write_sheet(wb, name: str, frame: pd.DataFrame, *, decimals: dict[str, int],
                 styles: dict, freeze: str = "A2", wide: frozenset = frozenset()) -> None:
    """One sheet: bold header row (frozen, filter), numbers with formats, column widths."""
    ws = wb.add_worksheet(name)
    columns = [str(c) for c in frame.columns]
    ws.write_row(0, 0, columns, styles["header"])
    for j, col in enumerate(columns):
        values = frame.iloc[:200, j]
        if col in decimals:
            number = _number_format(col, decimals[col])
            if number not in styles:
                styles[number] = wb.add_format({"num_format": number})
            fmt = styles[number]
            longest = max((len(f"{v:,.{decimals[col]}f}") for v in values if pd.notna(v)),
                          default=0)
        else:
            fmt = styles["wrap"] if col in wide else None
            longest = max((len(str(v)) for v in values if pd.notna(v)), default=0)
        limit = 80 if col in wide else 40
        # the column's format applies to its cells written without one (all of them)
        ws.set_column(j, j, min(limit, max(8, len(col), longest) + 2), fmt)
    for i, row in enumerate(frame.itertuples(index=False, name=None), start=1):
        for j, value in enumerate(row):
            v = _cell(value)
            if v is None:
                continue
            if isinstance(v, str):  # never a formula or a link, whatever the text
                ws.write_string(i, j, v)
            elif isinstance(v, bool):
                ws.write_boolean(i, j, v)
            else:
                ws.write_number(i, j, v)
    ws.freeze_panes(freeze)  # XlsxWriter reads the cell's A1 name
    if len(frame):
        ws.autofilter(0, 0, len(frame), len(columns) - 1)


def write_workbook(
    sites: gpd.GeoDataFrame,
    path: str | os.PathLike,
    *,
    places: gpd.GeoDataFrame | None = None,
    stability=None,
    criteria: pd.DataFrame | None = None,
    definitions=None,
    lang: str = "en",
    date: str | None = None,
    sources=(),
    title: str | None = None,
    overwrite: bool = False,
) -> Path:
    """Write an XLSX workbook for people: ranked places and sites, indicators, criteria.

    Sheets (:data:`WORKBOOK_SHEETS`), each with a bold, frozen header row and a
    filter, column widths to fit and number formats (Excel shows them with the
    reader's decimal mark):

    - ``places``: the ranked places (rank, name, score, rank stability, land
      indicators, names, centroid), best first;
    - ``sites``: the ranked sites as :func:`write_sites_csv` (with names and
      ``status``);
    - ``indicators``: each indicator column of the sites with its label in
      ``lang``, unit, decimals shown and definition;
    - ``criteria``: the criteria of the ranking (criterion, column, direction,
      weight, precision, discriminating, ...), weights exact (shown with four
      decimals, they sum to 1);
    - ``about``: title, date, sources (with their dates where known) and how
      the values are rounded.

    Numbers are rounded to their meaningful precision (:func:`people_decimals`);
    the GeoPackage and GeoParquet keep full precision for analysis. Equal inputs
    give equal bytes (fixed document and member dates).

    Parameters
    ----------
    sites : GeoDataFrame
        Scored sites (see :func:`ranked_sites`).
    path : path-like
        Target ``.xlsx``.
    places : GeoDataFrame, optional
        Places of :func:`productivecity.siting.places.group_places` (index = place id),
        ranked; the ``places`` sheet has only its header without them.
    stability : MonteCarloResult or DataFrame, optional
        Rank stability joined to the sites.
    criteria : DataFrame, optional
        The ranking's criteria table (``criterion``, ``column``, ``direction``,
        ``weight``, ``precision``, ``discriminating``, ``weight_used``, ...; the
        GeoPackage layer ``criteria``).
    definitions : mapping of str to str or DataFrame, optional
        Indicator definitions (:func:`productivecity.indicators.options.indicator_definitions`,
        or a table with ``indicator`` and ``definition``).
    lang : {"en", "nl", "fr"}, default "en"
        Language of the labels and of the ``about`` sheet.
    date : str, optional
        Date of the data (``YYYY-MM-DD``), also the document date.
    sources : iterable of Credit or str
        Credits of the data used, one line each in ``about``.
    title : str, optional
    overwrite : bool, default False

    Returns
    -------
    Path
    """
    import datetime
    import io

    import xlsxwriter

    from productivecity import __version__, _i18n

    lang = _i18n.check_lang(lang)
    ranked = ranked_sites(sites, stability=stability)
    site_table = _front(with_centroid_columns(ranked).reset_index(), ["site_id", *_SITE_FRONT])
    if places is not None:
        place_table = with_centroid_columns(places)
        if place_table.index.name is None:
            place_table.index.name = "place_id"
        if "rank" in place_table.columns:
            place_table = place_table.sort_values("rank", kind="stable")
        place_table = _front(place_table.reset_index(),
                             [place_table.index.name, *_PLACE_FRONT])
    else:
        place_table = pd.DataFrame({"place_id": [], "rank": [], "place_name": [], "score": []})

    if isinstance(definitions, pd.DataFrame):
        defs = dict(zip(definitions["indicator"].astype(str),
                        definitions["definition"].astype(str), strict=True))
    else:
        defs = dict(definitions or {})
    from productivecity.outputs.maps import indicator_columns

    site_decimals = people_decimals(site_table)
    cols = [c for c in defs if c in site_table.columns]
    cols += [c for c in indicator_columns(ranked) if c not in cols]
    if criteria is not None and "column" in criteria.columns:
        cols += [c for c in criteria["column"].astype(str)
                 if c in site_table.columns and c not in cols]
    rows = []
    for c in cols:
        with_unit, label = (_i18n.column_label(c, lang), _i18n.column_label(c, lang, unit=False))
        unit = with_unit[len(label) + 2:-1] if with_unit != label else ""
        if not unit:  # a unit the labels do not know, e.g. "per 1000 jobseekers"
            unit = next((suffix[1:].replace("_", " ") for suffix, _ in PRECISION_BY_SUFFIX
                         if c.endswith(suffix)), "")
        rows.append({"indicator": c, "label": label, "unit": unit,
                     "decimals": site_decimals.get(c), "definition": defs.get(c, "")})
    indicator_table = pd.DataFrame(rows, columns=["indicator", "label", "unit", "decimals",
                                                  "definition"])
    criteria_table = (criteria.copy() if criteria is not None else
                      pd.DataFrame(columns=["criterion", "column", "direction", "weight"]))

    try:
        when = datetime.datetime.combine(datetime.date.fromisoformat(str(date)[:10]),
                                         datetime.time())
    except ValueError:
        when = datetime.datetime(2000, 1, 1)
    about = [(title or _i18n.text("tables_title", lang), ""),
             (_i18n.text("date", lang), str(date) if date else
              _i18n.text("date_unknown", lang))]
    from productivecity.outputs.attribution import ordered_credits

    for i, c in enumerate(ordered_credits(sources or [])):
        d = getattr(c, "date", None)
        about.append((_i18n.text("sources", lang) if i == 0 else "",
                      c.line() + (f" ({d})" if d else "")))
    about += [("", _i18n.text("tables_sheets", lang)), ("", _i18n.text("tables_rounded", lang)),
              ("", f"{_i18n.text('made_with', lang)} {__version__}")]

    buf = io.BytesIO()
    # equal inputs, equal bytes: the document is dated with the data's date (XlsxWriter
    # dates the zip members itself, fixed); texts stay texts (no formulas, no links)
    wb = xlsxwriter.Workbook(buf, {"in_memory": True, "strings_to_formulas": False,
                                   "strings_to_urls": False, "strings_to_numbers": False})
    wb.set_properties({"author": "productivecity", "created": when,
                       "title": title or _i18n.text("tables_title", lang)})
    styles = {"header": wb.add_format({"bold": True, "bg_color": "#E8E8E8", "pattern": 1}),
              "wrap": wb.add_format({"text_wrap": True, "valign": "top"})}
    _write_sheet(wb, "places", round_for_people(place_table),
                 decimals=people_decimals(place_table), freeze="B2", styles=styles)
    _write_sheet(wb, "sites", round_for_people(site_table), decimals=site_decimals,
                 freeze="B2", styles=styles)
    _write_sheet(wb, "indicators", indicator_table, decimals={"decimals": 0},
                 wide=frozenset({"definition"}), styles=styles)
    crit_dec = {c: SCORE_DECIMALS for c in ("weight", "weight_used")
                if c in criteria_table.columns}
    # weights kept exact (they sum to 1), shown with SCORE_DECIMALS decimals
    _write_sheet(wb, "criteria", criteria_table, decimals=crit_dec, styles=styles)
    ws = wb.add_worksheet("about")
    bold, big = wb.add_format({"bold": True}), wb.add_format({"bold": True, "font_size": 14})
    for i, (key, value) in enumerate(about):
        ws.write_string(i, 0, key, big if i == 0 else bold)
        ws.write_string(i, 1, value)
    ws.set_column(0, 0, 18)
    ws.set_column(1, 1, 110)
    wb.close()
    with atomic_path(path, overwrite=overwrite) as tmp:
        tmp.write_bytes(buf.getvalue())
    return Path(path)


def _overview_factors(width: int, height: int, *, min_size: int = 64) -> list[int]:
    factors, f = [], 2
    while max(width, height) / f >= min_size or not factors:
        factors.append(f)
        f *= 2
    return factors


def write_suitability_raster(
    sites: gpd.GeoDataFrame,
    path: str | os.PathLike,
    *,
    column: str = "score",
    resolution_m: float = 25.0,
    nodata: float = -9999.0,
    overwrite: bool = False,
) -> Path:
    """Rasterise a site value (the suitability score) into a GeoTIFF surface.

    Each cell whose centre lies in a site takes that site's value; where sites
    overlap, the higher value wins. Cells outside every site and cells of
    excluded sites or sites without a value are ``nodata``. The grid is aligned
    to multiples of ``resolution_m`` in the sites' CRS.

    Parameters
    ----------
    sites : GeoDataFrame
        Scored sites with ``column`` and ``excluded``.
    path : path-like
        Target ``.tif``.
    column : str, default "score"
    resolution_m : float, default 25
        Cell size in metres.
    nodata : float, default -9999
    overwrite : bool, default False

    Returns
    -------
    Path
        A tiled, DEFLATE-compressed float32 GeoTIFF in the sites' CRS with nodata
        set, internal overviews (averages, factors 2, 4, ...) and the band
        described as ``column``. Sites smaller than a cell may get no cell;
        their number is logged.
    """
    # rasterio (0.15 s with the cloud-storage libraries it loads) only when a raster is made
    import rasterio
    import rasterio.features
    from affine import Affine
    from rasterio.enums import Resampling

    sites = _check_sites(sites, [column, "excluded"])
    if not (isinstance(resolution_m, int | float) and math.isfinite(resolution_m)
            and resolution_m > 0):
        raise ParameterError(f"resolution_m must be a positive number of metres, "
                             f"got {resolution_m!r}")
    values = pd.to_numeric(sites[column], errors="coerce").astype(float)
    use = values.notna() & ~sites["excluded"].fillna(True).astype(bool)
    if not use.any():
        raise EmptyLayerError(f"no site has a value in {column!r}; nothing to rasterise")
    if (values[use] == nodata).any():
        raise SchemaError(f"column {column!r} holds the nodata value {nodata}; pick another")
    crs = require_metric(sites, what="sites")
    xmin, ymin, xmax, ymax = sites.total_bounds
    r = float(resolution_m)
    x0, y1 = math.floor(xmin / r) * r, math.ceil(ymax / r) * r
    width = max(1, int(math.ceil((xmax - x0) / r)))
    height = max(1, int(math.ceil((y1 - ymin) / r)))
    transform = Affine(r, 0.0, x0, 0.0, -r, y1)  # north-up grid, origin top left
    chosen = sites.loc[use]
    order = np.argsort(values[use].to_numpy(), kind="stable")  # higher values burnt last
    geoms = chosen.geometry.to_numpy()[order]
    vals = values[use].to_numpy()[order]
    surface = rasterio.features.rasterize(
        zip(geoms, vals, strict=True), out_shape=(height, width), transform=transform,
        fill=nodata, dtype="float32",
    )
    ids = rasterio.features.rasterize(
        zip(geoms, np.arange(1, len(geoms) + 1), strict=True), out_shape=(height, width),
        transform=transform, fill=0, dtype="int32",
    )
    missing = len(geoms) - (len(np.unique(ids)) - (1 if (ids == 0).any() else 0))
    if missing:
        logger.warning("%d site(s) are smaller than a %g m cell and have no cell in %s; "
                       "use a finer resolution_m", missing, r, path)
    profile = {
        "driver": "GTiff", "width": width, "height": height, "count": 1, "dtype": "float32",
        "crs": crs, "transform": transform, "nodata": nodata, "tiled": True,
        "blockxsize": 256, "blockysize": 256, "compress": "deflate", "predictor": 3,
    }
    with atomic_path(path, overwrite=overwrite) as tmp:
        with rasterio.open(tmp, "w", **profile) as dst:
            dst.write(surface, 1)
            dst.set_band_description(1, column)
            dst.update_tags(column=column, resolution_m=f"{r:g}", source="productivecity")
            dst.build_overviews(_overview_factors(width, height), Resampling.average)
            dst.update_tags(ns="rio_overview", resampling="average")
    logger.info("rasterised %d site(s) at %g m: %d x %d cells", len(geoms), r, width, height)
    return Path(path)

