"""Statistical and administrative units: municipalities and neighbourhoods.

Municipalities are keyed by their 5-digit NIS code (``nis5``, a string such
as ``"21012"``). Readers accept the Statbel / Provincies in Cijfers
shapefile (``geoitem``, ``naam``), the Belgian municipalities TopoJSON
(``nis``, ``name_fr``, ``name_nl``) or any vector file with a NIS code column.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from productivecity._errors import AreaError, DataSourceError, EmptyLayerError, SchemaError
from productivecity._geom import area_ha, repair_geometries
from productivecity._validate import to_project_crs
from productivecity.sources._read import read_vector
from productivecity.sources.catalog import DataDir
from productivecity.sources.load_report import LayerReport

logger = logging.getLogger(__name__)

#: Column names recognised as the municipality NIS code, in order of preference.
NIS_COLUMNS = ("nis5", "nis", "NIS", "NIS5", "niscode", "nis_code", "geoitem", "CD_MUNTY_REFNIS")
#: Column names recognised as the municipality name, in order of preference.
NAME_COLUMNS = ("name", "naam", "name_nl", "name_fr", "NAME", "TX_MUNTY_DESCR_NL", "gemeente")


def read_municipalities(
    path: str | os.PathLike,
    *,
    layer: str | None = None,
    code_column: str | None = None,
    name_column: str | None = None,
) -> gpd.GeoDataFrame:
    """Read municipality polygons keyed by NIS5 code, in EPSG:31370.

    Parameters
    ----------
    path : path-like
        Any vector file of municipalities. For TopoJSON files the layer
        ``municipalities`` is read by default.
    layer : str, optional
        Layer to read.
    code_column, name_column : str, optional
        Columns with the NIS5 code and the name; default: detected from
        :data:`NIS_COLUMNS` and :data:`NAME_COLUMNS`.

    Returns
    -------
    GeoDataFrame
        Index ``nis5`` (str, 5 digits, unique); columns ``name`` (str) and
        ``geometry`` (MultiPolygon/Polygon, EPSG:31370). One row is one
        municipality. Rows whose code is not a 5-digit number (e.g. regions in
        mixed files) are left out and logged.
    """
    path = Path(path)
    if layer is None and "topojson" in path.name.lower():
        layer = "municipalities"
    gdf = read_vector(path, layer=layer)
    what = f"{path}" + (f" (layer {layer!r})" if layer else "")
    code_col = code_column or _first_present(gdf, NIS_COLUMNS)
    name_col = name_column or _first_present(gdf, NAME_COLUMNS)
    missing = []
    if code_col is None or code_col not in gdf.columns:
        missing.append(f"a NIS5 code column (one of {list(NIS_COLUMNS)})"
                       if code_column is None else repr(code_column))
    if name_col is None or name_col not in gdf.columns:
        missing.append(f"a name column (one of {list(NAME_COLUMNS)})"
                       if name_column is None else repr(name_column))
    if missing:
        available = [c for c in gdf.columns if c != "geometry"]
        raise SchemaError(f"{what} lacks {' and '.join(missing)}; available columns: {available}")
    codes = normalise_nis5(gdf[code_col])
    ok = codes.str.fullmatch(r"\d{5}").fillna(False).astype(bool)
    if (~ok).any():
        logger.info("%s: %d rows without a 5-digit NIS code left out", what, int((~ok).sum()))
    out = gpd.GeoDataFrame(
        {"name": gdf.loc[ok, name_col].astype(str).to_numpy()},
        geometry=gdf.geometry[ok].to_numpy(),
        index=pd.Index(codes[ok].to_numpy(), name="nis5"),
        crs=gdf.crs,
    )
    dup = out.index[out.index.duplicated()].unique().tolist()
    if dup:
        raise SchemaError(f"{what}: NIS5 codes occur more than once in column {code_col!r}: {dup}")
    return out


def normalise_nis5(values: pd.Series) -> pd.Series:
    """Return NIS codes as 5-character strings (``21001``; ints and floats such as 21001.0 too)."""
    s = values.astype("string").str.strip()
    s = s.str.replace(r"\.0+$", "", regex=True)
    return s.str.zfill(5)


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
    """Return the union of ``area`` (GeoDataFrame/GeoSeries, any CRS) in EPSG:31370.

    Raises :class:`CRSError` for an area without CRS and :class:`AreaError`
    for an empty one.
    """
    if not isinstance(area, gpd.GeoDataFrame | gpd.GeoSeries):
        raise AreaError(
            f"{what} must be a GeoDataFrame or GeoSeries of polygons, got {type(area).__name__}"
        )
    geoms = to_project_crs(area, what=what).geometry
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
    """Keep the units overlapping ``area`` by more than ``min_overlap_pct``; count the rest."""
    if area is None:
        return gdf
    poly = _area_geometry(area)
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
        raise DataSourceError(
            f"no {what} file given: pass path=... or data_dir=... (a folder laid out as described "
            f"in productivecity.sources.catalog)"
        )
    return DataDir(data_dir).require(kind)


# --------------------------------------------------------------------------------------------
# Population per municipality (Statbel)
# --------------------------------------------------------------------------------------------

#: Column names recognised as the total population, in order of preference.
POPULATION_COLUMNS = ("population_n", "population", "Totaal", "Total", "TOTAL", "totaal",
                      "MS_POPULATION", "pop")
_POP_CODE_COLUMNS = ("NIS code", "nis5", "NIS5", "nis", "NIS", "CD_REFNIS", "niscode", "nis_code")
_POP_NAME_COLUMNS = ("Woonplaats", "name", "naam", "TX_DESCR_NL", "TX_DESCR_FR", "gemeente")


def read_population(
    path: str | os.PathLike,
    *,
    year: int | None = None,
    code_column: str | None = None,
    population_column: str | None = None,
) -> tuple[pd.DataFrame, LayerReport]:
    """Read population per municipality from a Statbel-style CSV.

    Handles the quirks of the Statbel "bevolking per gemeente" export: UTF-8
    byte-order mark, Windows line ends, ``,`` or ``;`` separators, NIS codes
    with lost leading zeros, and aggregate rows (country ``01000``, regions
    ``02000``-``04000``, provinces and arrondissements: every code ending in
    ``000``), which are left out and counted. Rows sharing a code are summed
    (Statbel long-format files have one row per sex/age class).

    Parameters
    ----------
    path : path-like
        The CSV file.
    year : int, optional
        Reference year; default: the first ``19xx``/``20xx`` in the file name.
    code_column, population_column : str, optional
        Columns with the NIS5 code and the total population; default detected
        (``NIS code``/``CD_REFNIS``/``nis5``..., ``Totaal``/``MS_POPULATION``/...).

    Returns
    -------
    DataFrame
        Index ``nis5`` (str); columns ``name`` (str, may be empty),
        ``population_n`` (Int64, persons) and ``population_year`` (Int64).
    LayerReport
        Counts of rows read and left out.
    """
    path = Path(path)
    if not path.is_file():
        raise DataSourceError(f"population file {path} does not exist")
    try:
        df = pd.read_csv(path, sep=None, engine="python", dtype=str, encoding="utf-8-sig")
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise DataSourceError(f"could not read {path} as a CSV table: {exc}") from exc
    df.columns = [str(c).strip() for c in df.columns]
    report = LayerReport("population_municipalities", sources=[str(path)], read_n=len(df))
    code_col = code_column or _first_present(df, _POP_CODE_COLUMNS)
    pop_col = population_column or _first_present(df, POPULATION_COLUMNS)
    missing = []
    if code_col is None or code_col not in df.columns:
        missing.append(repr(code_column) if code_column
                       else f"a NIS code column (one of {list(_POP_CODE_COLUMNS)})")
    if pop_col is None or pop_col not in df.columns:
        missing.append(repr(population_column) if population_column
                       else f"a population column (one of {list(POPULATION_COLUMNS)})")
    if missing:
        raise SchemaError(
            f"{path} lacks {' and '.join(missing)}; available columns: {list(df.columns)}"
        )
    codes = normalise_nis5(df[code_col])
    values = pd.to_numeric(
        df[pop_col].str.strip().str.replace(r"[\s\u202f]", "", regex=True), errors="coerce"
    )
    bad_value = values.isna() & df[pop_col].notna()
    if bad_value.any():
        examples = ", ".join(repr(v) for v in df.loc[bad_value, pop_col].head(3))
        raise SchemaError(f"{path}: column {pop_col!r} holds non-numeric values, e.g. {examples}")
    valid_code = codes.str.fullmatch(r"\d{5}").fillna(False).astype(bool)
    aggregate = valid_code & codes.str.endswith("000")
    report.skip("no 5-digit NIS code", int((~valid_code).sum()))
    report.skip("aggregate rows (country, region, province, arrondissement)", int(aggregate.sum()))
    report.skip("no population value", int((valid_code & ~aggregate & values.isna()).sum()))
    keep = valid_code & ~aggregate & values.notna()
    name_col = _first_present(df, _POP_NAME_COLUMNS)
    names = df[name_col].fillna("").astype(str) if name_col else pd.Series("", index=df.index)
    table = pd.DataFrame({"nis5": codes[keep], "name": names[keep], "population_n": values[keep]})
    n_rows = len(table)
    table = table.groupby("nis5", sort=True).agg(name=("name", "first"),
                                                 population_n=("population_n", "sum"))
    if len(table) < n_rows:
        report.notes.append(f"{n_rows - len(table)} rows summed into rows of the same NIS code")
    if year is None:
        found = re.search(r"(19|20)\d\d", path.name)
        year = int(found.group(0)) if found else None
    out = pd.DataFrame(
        {
            "name": table["name"],
            "population_n": table["population_n"].round().astype("Int64"),
            "population_year": pd.array([year] * len(table), dtype="Int64"),
        },
        index=table.index.rename("nis5"),
    )
    report.features_n = len(out)
    report.log()
    return out, report


# --------------------------------------------------------------------------------------------
# Municipalities layer
# --------------------------------------------------------------------------------------------


def municipalities(
    area=None,
    *,
    data_dir: str | os.PathLike | None = None,
    path: str | os.PathLike | None = None,
    population: str | os.PathLike | None = None,
    min_overlap_pct: float = MIN_OVERLAP_PCT,
) -> tuple[gpd.GeoDataFrame, LayerReport]:
    """Return the municipalities of the study area with population, in EPSG:31370.

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
        Population CSV (overrides ``data_dir``), read with :func:`read_population`.
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
        ``geometry`` (polygons, EPSG:31370).
    LayerReport
        Layer ``municipalities``.
    """
    src = _resolve("municipalities", path, data_dir, what="municipality boundaries")
    gdf = read_municipalities(src)
    report = LayerReport("municipalities", sources=[str(src)], read_n=len(gdf))
    gdf, n_rep = repair_geometries(gdf)
    report.repaired_n = n_rep
    gdf = _keep_overlapping(gdf, area, report, min_overlap_pct=min_overlap_pct,
                            what="municipalities")
    pop_path = Path(population) if population is not None else (
        DataDir(data_dir).find("population_municipalities") if data_dir is not None else None)
    out = gdf[["name"]].copy()
    if pop_path is not None:
        pop, _ = read_population(pop_path)
        report.sources.append(str(pop_path))
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
# Neighbourhoods: ggw7 wijken (Flanders + Brussels) and UrbIS Monitoring des Quartiers
# --------------------------------------------------------------------------------------------

#: Column order of every neighbourhood layer.
NEIGHBOURHOOD_COLUMNS = ("name", "nis5", "population_n", "source", "area_ha")


def read_statsec_lookup(path: str | os.PathLike) -> pd.Series:
    """Read a statistical sector → ggw7 wijk lookup (``statsec_ggw7.xlsx``, or CSV).

    Returns
    -------
    Series
        Index ``statsec`` (str, sector code), values ``ggw7`` (str, wijk code).
    """
    path = Path(path)
    if not path.is_file():
        raise DataSourceError(f"sector lookup {path} does not exist")
    try:
        if path.suffix.lower() in (".xlsx", ".xlsm"):
            df = pd.read_excel(path, dtype=str, engine="openpyxl")
        else:
            df = pd.read_csv(path, sep=None, engine="python", dtype=str, encoding="utf-8-sig")
    except Exception as exc:  # openpyxl / pandas raise many kinds for a bad file
        raise DataSourceError(f"could not read the sector lookup {path}: {exc}") from exc
    missing = [c for c in ("statsec", "ggw7") if c not in df.columns]
    if missing:
        raise SchemaError(
            f"{path} lacks column(s) {missing}; available columns: {list(df.columns)}"
        )
    df = df.dropna(subset=["statsec", "ggw7"])
    return pd.Series(df["ggw7"].str.strip().to_numpy(),
                     index=pd.Index(df["statsec"].str.strip().to_numpy(), name="statsec"),
                     name="ggw7")


def read_sector_population(path: str | os.PathLike) -> pd.Series:
    """Read population per statistical sector (``sector_code_2020``, ``population_total_c2019``).

    Other accepted column names: ``statsec``/``CD_SECTOR`` for the code and
    ``population``/``TOTAL``/``MS_POPULATION`` for the count.

    Returns
    -------
    Series
        Index sector code (str), values persons (float).
    """
    path = Path(path)
    if not path.is_file():
        raise DataSourceError(f"sector population file {path} does not exist")
    df = pd.read_csv(path, sep=None, engine="python", dtype=str, encoding="utf-8-sig")
    code_col = _first_present(df, ("sector_code_2020", "statsec", "CD_SECTOR", "sector_code"))
    pop_col = _first_present(df, ("population_total_c2019", "population", "TOTAL", "MS_POPULATION",
                                  "population_n"))
    if code_col is None or pop_col is None:
        raise SchemaError(
            f"{path} lacks a sector code column (sector_code_2020, statsec, CD_SECTOR) or a "
            f"population column (population_total_c2019, population, TOTAL, MS_POPULATION); "
            f"available columns: {list(df.columns)}"
        )
    values = pd.to_numeric(df[pop_col], errors="coerce")
    s = pd.Series(values.to_numpy(), index=pd.Index(df[code_col].str.strip(), name="statsec"))
    return s.groupby(level=0).sum(min_count=1)


def sector_population_by_wijk(
    sector_population: pd.Series, lookup: pd.Series
) -> tuple[pd.Series, dict[str, float]]:
    """Sum sector populations into ggw7 wijken.

    Sector codes change between editions (2020 population, 2025 lookup: a
    sector ``23088A02-`` was split into ``23088A02K/L/M``). A sector is
    matched on its exact code, else on its first 8 characters (NIS5 +
    section + sector number) when every lookup sector with that prefix lies
    in one wijk. The rest is unassigned and returned in the tally, so that
    assigned + unassigned = total (nothing lost silently).

    Returns
    -------
    Series
        Persons per wijk code (float).
    dict
        ``{"exact": persons, "prefix": persons, "unassigned": persons,
        "unassigned_sectors": n, "unassigned_by_nis5": Series}``.
    """
    exact = sector_population.index.isin(lookup.index)
    wijk = pd.Series(pd.NA, index=sector_population.index, dtype="object")
    wijk[exact] = lookup.reindex(sector_population.index[exact]).to_numpy()
    prefix8 = pd.Series(lookup.index.str[:8], index=lookup.index)
    unique_by_prefix = lookup.groupby(prefix8.to_numpy()).agg(
        lambda v: v.iloc[0] if v.nunique() == 1 else pd.NA
    )
    rest = ~exact
    via_prefix = pd.Series(sector_population.index[rest].str[:8]).map(unique_by_prefix)
    wijk[rest] = via_prefix.to_numpy()
    matched_prefix = rest & wijk.notna().to_numpy()
    pops = sector_population.fillna(0.0)
    lost = wijk.isna().to_numpy()
    tally = {
        "exact": float(pops[exact].sum()),
        "prefix": float(pops[matched_prefix].sum()),
        "unassigned": float(pops[lost].sum()),
        "unassigned_sectors": int(lost.sum()),
        "unassigned_by_nis5": pops[lost].groupby(pops.index[lost].str[:5]).sum(),
    }
    assigned = wijk.notna().to_numpy()
    sums = pops[assigned].groupby(wijk[assigned].to_numpy()).sum()
    return sums, tally


def read_ggw7(
    path: str | os.PathLike,
    *,
    lookup: str | os.PathLike | None = None,
    sector_population: str | os.PathLike | None = None,
) -> tuple[gpd.GeoDataFrame, LayerReport]:
    """Read the "gemeentegedragen wijken" (``ggw7.shp``, Provincies in Cijfers).

    Population comes from summing sector populations (``sector_population``)
    into wijken through the sector → wijk ``lookup``
    (:func:`sector_population_by_wijk`). A wijk gets a population only when
    its municipality appears in the sector table (the test bed's table covers
    Flanders only, so Brussels wijken stay <NA>); there a wijk without any
    listed sector has 0 persons (the table lists populated sectors only).

    Returns
    -------
    GeoDataFrame
        Index ``code`` (e.g. ``23088W01``); columns ``name``, ``nis5`` (first
        five characters of the code), ``population_n`` (Int64 persons or
        <NA>), ``source`` (``"ggw7"``), ``area_ha``, ``geometry`` (EPSG:31370).
    LayerReport
        Layer ``neighbourhoods``.
    """
    path = Path(path)
    gdf = read_vector(path)
    what = str(path)
    code_col = _first_present(gdf, ("code", "geoitem"))
    name_col = _first_present(gdf, ("name", "naam"))
    if code_col is None or name_col is None:
        available = [c for c in gdf.columns if c != "geometry"]
        raise SchemaError(f"{what} lacks a wijk code column (code, geoitem) or a name column "
                          f"(name, naam); available columns: {available}")
    report = LayerReport("neighbourhoods", sources=[what], read_n=len(gdf))
    codes = gdf[code_col].astype("string").str.strip()
    out = gpd.GeoDataFrame(
        {"name": gdf[name_col].astype(str).to_numpy(),
         "nis5": codes.str[:5].to_numpy()},
        geometry=gdf.geometry.to_numpy(), crs=gdf.crs,
        index=pd.Index(codes.to_numpy(), name="code"),
    )
    out = _drop_duplicate_codes(out, report, what=what)
    out["population_n"] = pd.array([pd.NA] * len(out), dtype="Int64")
    if (lookup is None) != (sector_population is None):
        raise ValueError("give both lookup= and sector_population= (or neither)")
    if lookup is not None:
        lk = read_statsec_lookup(lookup)
        sp = read_sector_population(sector_population)
        report.sources += [str(lookup), str(sector_population)]
        sums, tally = sector_population_by_wijk(sp, lk)
        covered = set(sp.index.str[:5])
        in_cov = out["nis5"].isin(covered).to_numpy()
        vals = sums.reindex(out.index[in_cov]).fillna(0.0).round()
        out.loc[in_cov, "population_n"] = pd.array(vals.to_numpy(), dtype="Int64")
        report.notes.append(
            f"population summed from sectors: {tally['exact']:.0f} persons by exact sector code, "
            f"{tally['prefix']:.0f} by 8-character code prefix, {tally['unassigned']:.0f} persons "
            f"in {tally['unassigned_sectors']} sectors not assignable to a wijk"
        )
        out.attrs["unassigned_sector_population"] = tally["unassigned_by_nis5"]
        if (~in_cov).any():
            report.notes.append(f"{int((~in_cov).sum())} wijken in municipalities without sector "
                                f"population (e.g. Brussels): population_n <NA>")
    out["source"] = "ggw7"
    report.features_n = len(out)
    return out, report


def read_urbis_quarters(
    path: str | os.PathLike,
    *,
    municipalities: gpd.GeoDataFrame | None = None,
) -> tuple[gpd.GeoDataFrame, LayerReport]:
    """Read the UrbIS "Monitoring des Quartiers" quarters (145 in Brussels).

    Parameters
    ----------
    path : path-like
        UrbIS-Adm ``MD`` layer (GeoPackage; fields ``mdrc``, ``name_fr``,
        ``name_nl``, ``name_bil``).
    municipalities : GeoDataFrame, optional
        Municipalities indexed by ``nis5`` (:func:`read_municipalities`);
        each quarter gets the municipality holding most of its area (quarters
        may straddle municipal borders). Without it ``nis5`` is <NA>.

    Returns
    -------
    GeoDataFrame
        Index ``code`` (the ``mdrc`` quarter code as string); columns
        ``name`` (bilingual), ``nis5``, ``population_n`` (<NA>: no quarter
        population in the UrbIS layer), ``source`` (``"urbis_md"``),
        ``area_ha``, ``geometry`` (EPSG:31370).
    LayerReport
        Layer ``neighbourhoods``.
    """
    path = Path(path)
    gdf = read_vector(path)
    what = str(path)
    code_col = _first_present(gdf, ("mdrc", "code"))
    name_col = _first_present(gdf, ("name_bil", "name", "name_fr", "name_nl"))
    if code_col is None or name_col is None:
        available = [c for c in gdf.columns if c != "geometry"]
        raise SchemaError(f"{what} lacks a quarter code column (mdrc, code) or a name column "
                          f"(name_bil, name_fr, name_nl); available columns: {available}")
    report = LayerReport("neighbourhoods", sources=[what], read_n=len(gdf))
    codes = normalise_code(gdf[code_col])
    out = gpd.GeoDataFrame(
        {"name": gdf[name_col].astype(str).to_numpy()},
        geometry=gdf.geometry.to_numpy(), crs=gdf.crs,
        index=pd.Index(codes.to_numpy(), name="code"),
    )
    out = _drop_duplicate_codes(out, report, what=what)
    out, n_rep = repair_geometries(out)
    report.repaired_n += n_rep
    out["nis5"] = _largest_overlap(out, municipalities)
    out["population_n"] = pd.array([pd.NA] * len(out), dtype="Int64")
    report.notes.append("UrbIS quarters carry no population: population_n <NA>")
    out["source"] = "urbis_md"
    report.features_n = len(out)
    return out, report


def neighbourhoods(
    area=None,
    *,
    data_dir: str | os.PathLike | None = None,
    path: str | os.PathLike | None = None,
    min_overlap_pct: float = MIN_OVERLAP_PCT,
) -> tuple[gpd.GeoDataFrame, LayerReport]:
    """Return the neighbourhoods of the study area, in EPSG:31370.

    The preferred source is the ggw7 wijken (found first in a data directory):
    one consistent set built from statistical sectors on both sides of the
    Brussels-Flanders border (204 wijken in Brussels, 8 in Vilvoorde, 10 in
    Machelen), with population where sector populations exist. The UrbIS
    145 "Monitoring des Quartiers" quarters are the official Brussels units
    but stop at the regional border; read them with
    :func:`read_urbis_quarters` or pass their file as ``path``.

    Parameters
    ----------
    area : GeoDataFrame or GeoSeries, optional
        Study-area polygon(s), any CRS; None keeps all.
    data_dir : path-like, optional
        Data directory (sources ``neighbourhoods``, ``statsec_ggw7``,
        ``population_sectors``, ``municipalities``).
    path : path-like, optional
        A neighbourhood file: ggw7 (``geoitem`` codes like ``21001W11``),
        UrbIS MD (``mdrc``) or any file with ``code`` and ``name`` columns.
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
    unassigned = None
    dd = DataDir(data_dir) if data_dir is not None else None
    if "mdrc" in cols:
        munis = None
        mpath = dd.find("municipalities") if dd is not None else None
        if mpath is not None:
            munis = read_municipalities(mpath)
        gdf, report = read_urbis_quarters(src, municipalities=munis)
        if munis is None:
            report.notes.append("no municipalities file: nis5 of UrbIS quarters is <NA>")
    elif "geoitem" in cols and "code" not in cols:
        lookup = dd.find("statsec_ggw7") if dd is not None else None
        secpop = dd.find("population_sectors") if dd is not None else None
        if lookup is None or secpop is None:
            lookup = secpop = None
        gdf, report = read_ggw7(src, lookup=lookup, sector_population=secpop)
        unassigned = gdf.attrs.get("unassigned_sector_population")
        if lookup is None:
            report.notes.append("no sector lookup and sector population found: population_n <NA>")
    else:
        gdf, report = _read_generic_neighbourhoods(src)
    gdf, n_rep = repair_geometries(gdf)
    report.repaired_n += n_rep
    gdf = _keep_overlapping(gdf, area, report, min_overlap_pct=min_overlap_pct,
                            what="neighbourhoods")
    gdf = gdf.copy()
    if unassigned is not None:
        here = unassigned.reindex(gdf["nis5"].dropna().unique()).dropna()
        here = here[here > 0]
        if len(here):
            report.notes.append(
                "sector population not assignable to one wijk (sectors split between wijken "
                "since the population's edition), so wijk totals are lower bounds in: "
                + ", ".join(f"{k} ({v:.0f} persons)" for k, v in here.items())
            )
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


def _read_generic_neighbourhoods(path: Path) -> tuple[gpd.GeoDataFrame, LayerReport]:
    gdf = read_vector(path)
    missing = [c for c in ("code", "name") if c not in gdf.columns]
    if missing:
        available = [c for c in gdf.columns if c != "geometry"]
        raise SchemaError(f"{path} lacks column(s) {missing} (or ggw7 'geoitem'/UrbIS 'mdrc'); "
                          f"available columns: {available}")
    report = LayerReport("neighbourhoods", sources=[str(path)], read_n=len(gdf))
    n = len(gdf)
    nis5 = (normalise_nis5(gdf["nis5"]).to_numpy() if "nis5" in gdf.columns
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
    """NIS5 of the municipality holding the largest share of each unit (<NA> if none)."""
    result = pd.Series(pd.NA, index=units.index, dtype="string")
    if municipalities is None or units.empty:
        return result
    munis = to_project_crs(municipalities, what="municipalities")
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
