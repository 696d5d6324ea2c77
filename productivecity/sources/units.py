"""Statistical and administrative units: municipalities and neighbourhoods.

Municipalities are keyed by their code (index ``nis5``, a string). The readers
here are generic: which columns hold the code and the name, how codes are
written, how population tables and neighbourhood files of one statistics
office look, is told by the region plug-ins of
:mod:`productivecity.sources.regions`.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from productivecity._errors import (
    AreaError,
    DataSourceError,
    EmptyLayerError,
    SchemaError,
    SourceNotFoundError,
)
from productivecity._geom import area_ha, repair_geometries
from productivecity.crs import metric_crs_of, to_crs
from productivecity.sources import regions
from productivecity.sources._read import read_vector
from productivecity.sources.catalog import DataDir
from productivecity.sources.load_report import LayerReport, file_credit

logger = logging.getLogger(__name__)

def read_municipalities(
    path: str | os.PathLike,
    *,
    layer: str | None = None,
    code_column: str | None = None,
    name_column: str | None = None,
) -> gpd.GeoDataFrame:
    """Read municipality polygons keyed by their code, in the file's CRS.

    Parameters
    ----------
    path : path-like
        Any vector file of municipalities. For TopoJSON files the layer
        ``municipalities`` is read by default.
    layer : str, optional
        Layer to read.
    code_column, name_column : str, optional
        Columns with the code and the name; default: detected from the code
        and name columns of the region plug-ins
        (:class:`~productivecity.sources.regions.UnitCodes`). The region whose
        code column the file has (or that lists ``code_column``) also says
        how codes are written; a file no region knows keeps its codes as
        stripped strings.

    Returns
    -------
    GeoDataFrame
        Index ``nis5`` (str, unique); columns ``name`` (str) and
        ``geometry`` (MultiPolygon/Polygon, the file's CRS). One row is one
        municipality. Rows whose code is not a municipality code of the region
        (e.g. regions in mixed files) are left out and logged.
    """
    path = Path(path)
    if layer is None and "topojson" in path.name.lower():
        layer = "municipalities"
    gdf = read_vector(path, layer=layer)
    what = f"{path}" + (f" (layer {layer!r})" if layer else "")
    rules = regions.municipality_codes(gdf.columns, code_column=code_column) or _GENERIC_CODES
    code_col = code_column or _first_present(gdf, rules.columns)
    name_col = name_column or _first_present(gdf, rules.name_columns)
    missing = []
    if code_col is None or code_col not in gdf.columns:
        known = regions.all_municipality_codes()
        label = " or ".join(dict.fromkeys(uc.label for uc in known)) or "municipality"
        candidates = list(dict.fromkeys(c for uc in known for c in uc.columns))
        missing.append(f"a {label} code column (one of {candidates})"
                       if code_column is None else repr(code_column))
    if name_col is None or name_col not in gdf.columns:
        missing.append(f"a name column (one of {list(rules.name_columns)})"
                       if name_column is None else repr(name_column))
    if missing:
        available = [c for c in gdf.columns if c != "geometry"]
        raise SchemaError(f"{what} lacks {' and '.join(missing)}; available columns: {available}")
    codes = rules.normalise(gdf[code_col])
    ok = _valid_codes(codes, rules)
    if (~ok).any():
        logger.info("%s: %d rows without a %s code left out", what, int((~ok).sum()), rules.label)
    out = gpd.GeoDataFrame(
        {"name": gdf.loc[ok, name_col].astype(str).to_numpy()},
        geometry=gdf.geometry[ok].to_numpy(),
        index=pd.Index(codes[ok].to_numpy(), name="nis5"),
        crs=gdf.crs,
    )
    dup = out.index[out.index.duplicated()].unique().tolist()
    if dup:
        raise SchemaError(f"{what}: {rules.label} codes occur more than once in column "
                          f"{code_col!r}: {dup}")
    return out


def _valid_codes(codes: pd.Series, rules: regions.UnitCodes) -> pd.Series:
    """Boolean Series: the code is present and matches the region's code pattern."""
    if rules.pattern is None:
        ok = codes.notna() & (codes != "")
    else:
        ok = codes.str.fullmatch(rules.pattern)
    return ok.fillna(False).astype(bool)


def _first_present(df: pd.DataFrame, candidates) -> str | None:
    for c in candidates:
        if c in df.columns:
            return c
    return None


# --------------------------------------------------------------------------------------------
# Study-area helpers shared by the loaders of this package's sources
# --------------------------------------------------------------------------------------------

#: Default share of a unit's own area (in %) that must lie inside the study area for the
#: unit to be kept; smaller overlaps are slivers along shared borders (simplified geometry).
MIN_OVERLAP_PCT = 1.0


def _area_geometry(area, *, what: str = "area"):
    """Return the union of ``area`` (GeoDataFrame/GeoSeries) in its metric CRS.

    Raises :class:`CRSError` for an area without CRS and :class:`AreaError`
    for an empty one.
    """
    if not isinstance(area, gpd.GeoDataFrame | gpd.GeoSeries):
        raise AreaError(
            f"{what} must be a GeoDataFrame or GeoSeries of polygons, got {type(area).__name__}"
        )
    geoms = to_crs(area, metric_crs_of(area, what=what), what=what).geometry
    geoms = geoms[~(geoms.isna() | geoms.is_empty)]
    if geoms.empty:
        raise AreaError(f"{what} has no (non-empty) geometry")
    poly = shapely.union_all(np.asarray(geoms.values))
    if poly.area <= 0:
        raise AreaError(f"{what} has no area (points or lines given instead of polygons)")
    return poly


def _overlap_pct(gdf: gpd.GeoDataFrame, poly) -> np.ndarray:
    """Share (%) of each polygon's own area lying inside ``poly``."""
    geoms = np.asarray(gdf.geometry.values)
    shapely.prepare(poly)
    hit = shapely.intersects(poly, geoms)
    pct = np.zeros(len(gdf))
    own = shapely.area(geoms)
    if hit.any():
        inter = shapely.area(shapely.intersection(geoms[hit], poly))
        with np.errstate(divide="ignore", invalid="ignore"):
            pct[hit] = np.where(own[hit] > 0, 100.0 * inter / own[hit], 0.0)
    return pct


def _keep_overlapping(gdf, area, report: LayerReport, *, min_overlap_pct: float, what: str):
    """Keep the units overlapping ``area`` by more than ``min_overlap_pct``; count the rest.

    The kept units are returned in the area's metric CRS (without an area: in
    their own when metric, else their UTM zone).
    """
    if area is None:
        return to_crs(gdf, metric_crs_of(gdf, what=what), what=what)
    poly = _area_geometry(area)
    gdf = to_crs(gdf, metric_crs_of(area, what="area"), what=what)
    pct = _overlap_pct(gdf, poly)
    touching = (pct > 0) & (pct <= min_overlap_pct)
    keep = pct > min_overlap_pct
    report.outside_area_n += int((~keep).sum())
    if touching.any():
        report.notes.append(
            f"{int(touching.sum())} {what} overlapping the area by at most {min_overlap_pct:g}% of "
            f"their own area (border slivers) counted as outside"
        )
    kept = gdf.loc[keep]
    if kept.empty:
        raise EmptyLayerError(
            f"no {what} overlap the study area by more than {min_overlap_pct:g}% "
            f"({len(gdf)} read from {', '.join(report.sources)}); "
            f"is the area in the file's coverage?"
        )
    return kept


def _resolve(kind: str, path, data_dir, *, what: str) -> Path:
    """Return ``path`` or the file of ``kind`` found in ``data_dir``; one clear error otherwise."""
    if path is not None:
        return Path(path)
    if data_dir is None:
        raise SourceNotFoundError(
            f"no {what} file given: pass path=... or data_dir=... (a folder laid out as described "
            f"in productivecity.sources.catalog)"
        )
    return DataDir(data_dir).require(kind)


# --------------------------------------------------------------------------------------------
# Municipalities layer
# --------------------------------------------------------------------------------------------


def read_population(path: str | os.PathLike, **options) -> tuple[pd.DataFrame, LayerReport]:
    """Read population per municipality with the region plug-in's reader.

    ``options`` go to that reader (e.g. ``year=``, ``code_column=``).

    Returns
    -------
    DataFrame
        Index ``nis5`` (str); columns ``name`` (str, may be empty),
        ``population_n`` (Int64, persons) and ``population_year`` (Int64).
    LayerReport
        Counts of rows read and left out.
    """
    readers = regions.population_readers()
    if not readers:
        raise DataSourceError(f"no region plug-in reads population tables such as {path} "
                              f"(see productivecity.sources.regions)")
    return readers[0](path, **options)


def municipalities(
    area=None,
    *,
    data_dir: str | os.PathLike | None = None,
    path: str | os.PathLike | None = None,
    population: str | os.PathLike | None = None,
    min_overlap_pct: float = MIN_OVERLAP_PCT,
) -> tuple[gpd.GeoDataFrame, LayerReport]:
    """Return the municipalities of the study area with population, in the study area's CRS.

    Parameters
    ----------
    area : GeoDataFrame or GeoSeries, optional
        Study-area polygon(s) in any CRS; None keeps every municipality.
    data_dir : path-like, optional
        Data directory searched for the ``municipalities`` and
        ``population_municipalities`` sources (see
        :mod:`productivecity.sources.catalog`).
    path : path-like, optional
        Municipality polygons (overrides ``data_dir``), read with
        :func:`read_municipalities`.
    population : path-like, optional
        Population table (overrides ``data_dir``), read by the region plug-in's
        population reader (:func:`read_population`).
        Without one, ``population_n`` is <NA> and the report says so.
    min_overlap_pct : float, default 1.0
        A municipality is kept when more than this share (%) of its own area
        lies in ``area``; touching neighbours (border slivers of simplified
        boundaries) are counted as outside.

    Returns
    -------
    GeoDataFrame
        Index ``nis5`` (str); columns ``name`` (str), ``population_n``
        (Int64 persons, <NA> where the table has no row for the code, e.g.
        municipalities created by the 2025 mergers against a 2020 table),
        ``population_year`` (Int64), ``area_ha`` (float, hectares) and
        ``geometry`` (polygons, the study area's CRS).
    LayerReport
        Layer ``municipalities``.
    """
    src = _resolve("municipalities", path, data_dir, what="municipality boundaries")
    gdf = read_municipalities(src)
    report = LayerReport("municipalities", sources=[str(src)], read_n=len(gdf))
    report.credit(file_credit(src, "municipality boundaries"), source=src)
    gdf, n_rep = repair_geometries(gdf)
    report.repaired_n = n_rep
    gdf = _keep_overlapping(gdf, area, report, min_overlap_pct=min_overlap_pct,
                            what="municipalities")
    pop_path = Path(population) if population is not None else (
        DataDir(data_dir).find("population_municipalities") if data_dir is not None else None)
    out = gdf[["name"]].copy()
    if pop_path is not None:
        pop, pop_report = read_population(pop_path)
        report.sources.append(str(pop_path))
        report.credit(*pop_report.credits)
        joined = pop.reindex(out.index)
        out["population_n"] = joined["population_n"].astype("Int64")
        out["population_year"] = joined["population_year"].astype("Int64")
        n_missing = int(out["population_n"].isna().sum())
        if n_missing:
            report.notes.append(
                f"{n_missing} municipalities have no population in {pop_path.name} "
                f"(codes absent from the table, e.g. after municipal mergers): population_n <NA>"
            )
    else:
        out["population_n"] = pd.array([pd.NA] * len(out), dtype="Int64")
        out["population_year"] = pd.array([pd.NA] * len(out), dtype="Int64")
        report.notes.append("no population table given or found: population_n is <NA>")
    out["area_ha"] = area_ha(gdf.geometry)
    out = gpd.GeoDataFrame(out, geometry=gdf.geometry, crs=gdf.crs)
    report.features_n = len(out)
    report.log()
    return out, report


# --------------------------------------------------------------------------------------------
# Neighbourhoods
# --------------------------------------------------------------------------------------------

#: Column order of every neighbourhood layer.
NEIGHBOURHOOD_COLUMNS = ("name", "nis5", "population_n", "source", "area_ha")


def neighbourhoods(
    area=None,
    *,
    data_dir: str | os.PathLike | None = None,
    path: str | os.PathLike | None = None,
    min_overlap_pct: float = MIN_OVERLAP_PCT,
) -> tuple[gpd.GeoDataFrame, LayerReport]:
    """Return the neighbourhoods of the study area, in the study area's CRS.

    The file's columns choose the reader: a region plug-in's neighbourhood
    format (:class:`~productivecity.sources.regions.NeighbourhoodFormat`) that
    accepts them, else the generic reader of a file with ``code`` and
    ``name`` columns (optional ``nis5`` and ``population_n``). A data directory's
    catalogue (:mod:`productivecity.sources.catalog`) lists the preferred
    files first.

    Parameters
    ----------
    area : GeoDataFrame or GeoSeries, optional
        Study-area polygon(s), any CRS; None keeps all.
    data_dir : path-like, optional
        Data directory (source ``neighbourhoods``, and the sources a region
        format reads beside it).
    path : path-like, optional
        A neighbourhood file in a region's format or with ``code`` and
        ``name`` columns.
    min_overlap_pct : float, default 1.0
        Keep units with more than this share (%) of their area in ``area``.

    Returns
    -------
    GeoDataFrame
        Index ``code`` (str); columns ``name``, ``nis5`` (parent
        municipality), ``population_n`` (Int64 persons, <NA> where unknown),
        ``source``, ``area_ha`` (hectares), ``geometry``.
    LayerReport
        Layer ``neighbourhoods``.
    """
    src = _resolve("neighbourhoods", path, data_dir, what="neighbourhood boundaries")
    cols = _columns_of(src)
    fmt = regions.neighbourhood_format(cols)
    if fmt is not None:
        gdf, report = fmt.read(src, DataDir(data_dir) if data_dir is not None else None)
    else:
        gdf, report = _read_generic_neighbourhoods(src)
    attrs = dict(gdf.attrs)
    gdf, n_rep = repair_geometries(gdf)
    report.repaired_n += n_rep
    gdf = _keep_overlapping(gdf, area, report, min_overlap_pct=min_overlap_pct,
                            what="neighbourhoods")
    gdf = gdf.copy()
    if fmt is not None and fmt.after_clip is not None:
        fmt.after_clip(gdf, report, attrs)
    gdf["area_ha"] = area_ha(gdf.geometry)
    gdf = gdf[[*NEIGHBOURHOOD_COLUMNS, "geometry"]]
    gdf.attrs = {}
    report.features_n = len(gdf)
    report.log()
    return gdf, report


def normalise_code(values: pd.Series) -> pd.Series:
    """Return codes as stripped strings (``41.0`` → ``"41"``)."""
    s = values.astype("string").str.strip()
    return s.str.replace(r"\.0+$", "", regex=True)


#: Code rules for a municipality file no region plug-in recognises.
_GENERIC_CODES = regions.UnitCodes(
    label="municipality", columns=("code",), name_columns=("name",), normalise=normalise_code,
)


def _read_generic_neighbourhoods(path: Path) -> tuple[gpd.GeoDataFrame, LayerReport]:
    gdf = read_vector(path)
    missing = [c for c in ("code", "name") if c not in gdf.columns]
    if missing:
        available = [c for c in gdf.columns if c != "geometry"]
        formats = [f.name for r in regions.registered() for f in r.neighbourhood_formats]
        raise SchemaError(f"{path} lacks column(s) {missing} (or is in none of the region "
                          f"formats {formats}); available columns: {available}")
    report = LayerReport("neighbourhoods", sources=[str(path)], read_n=len(gdf))
    report.credit(file_credit(path, "neighbourhoods"), source=path)
    n = len(gdf)
    rules = regions.municipality_codes(["nis5"]) or _GENERIC_CODES
    nis5 = (rules.normalise(gdf["nis5"]).to_numpy() if "nis5" in gdf.columns
            else pd.array([pd.NA] * n, dtype="string"))
    pop = (pd.to_numeric(gdf["population_n"], errors="coerce").round().astype("Int64").to_numpy()
           if "population_n" in gdf.columns else pd.array([pd.NA] * n, dtype="Int64"))
    out = gpd.GeoDataFrame(
        {"name": gdf["name"].astype(str).to_numpy(), "nis5": nis5,
         "population_n": pd.array(pop, dtype="Int64")},
        geometry=gdf.geometry.to_numpy(), crs=gdf.crs,
        index=pd.Index(normalise_code(gdf["code"]).to_numpy(), name="code"),
    )
    out = _drop_duplicate_codes(out, report, what=str(path))
    out["source"] = path.stem
    report.features_n = len(out)
    return out, report


def _columns_of(path: Path) -> list[str]:
    import pyogrio

    if not path.exists():
        raise DataSourceError(f"file {path} does not exist")
    try:
        return [str(c) for c in pyogrio.read_info(path)["fields"]]
    except Exception as exc:
        raise DataSourceError(f"could not open {path} as a vector file: {exc}") from exc


def _drop_duplicate_codes(gdf, report: LayerReport, *, what: str):
    dup = gdf.index.duplicated(keep="first")
    if dup.any():
        codes = gdf.index[dup].unique().tolist()
        report.skip("duplicate code (first kept)", int(dup.sum()))
        logger.warning("%s: %d rows with a repeated code left out: %s", what, int(dup.sum()),
                       codes[:10])
    missing = gdf.index.isna() | (gdf.index.astype(str) == "")
    if missing.any():
        report.skip("no code", int(missing.sum()))
    return gdf.loc[~dup & ~missing]


def _largest_overlap(units: gpd.GeoDataFrame, municipalities: gpd.GeoDataFrame | None) -> pd.Series:
    """Code (``nis5``) of the municipality holding the largest share of each unit (<NA> if none)."""
    result = pd.Series(pd.NA, index=units.index, dtype="string")
    if municipalities is None or units.empty:
        return result
    crs = metric_crs_of(units, what="units")
    units = to_crs(units, crs, what="units")
    munis = to_crs(municipalities, crs, what="municipalities")
    left = gpd.GeoDataFrame({"code": units.index.to_numpy()}, geometry=units.geometry.to_numpy(),
                            crs=units.crs)
    right = gpd.GeoDataFrame({"nis5": munis.index.to_numpy()}, geometry=munis.geometry.to_numpy(),
                             crs=munis.crs)
    inter = gpd.overlay(left, right, how="intersection", keep_geom_type=True)
    if inter.empty:
        return result
    inter["a"] = inter.geometry.area
    best = inter.sort_values("a", ascending=False).drop_duplicates("code").set_index("code")["nis5"]
    result.loc[best.index] = best.astype("string")
    return result


def __getattr__(name: str):
    # readers that moved to a region plug-in stay importable from here
    return regions.compat_attribute(__name__, name)
