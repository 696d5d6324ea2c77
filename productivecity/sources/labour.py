"""Labour-market tables: job seekers, unemployment rates, education levels.

All readers return a DataFrame indexed by the unit code (``nis5`` for
municipalities) with counts in ``*_n`` columns and shares in ``*_pct``
columns, and check what they read: unknown unit codes are listed, a year not
in the table lists the years it has, duplicate codes and non-numeric counts
are refused. Units without data stay missing (``<NA>``), never zero.

Readers
-------
:func:`read_unit_table`
    Any user table keyed by municipality, neighbourhood or statistical
    sector code.
:func:`read_labour_table`
    A labour source of the data-directory catalogue read by the region
    plug-in that registered it (:mod:`productivecity.sources.regions`; e.g.
    a statistics office's job-seeker table matched to municipality codes by
    name with :func:`name_key`).
"""

from __future__ import annotations

import logging
import os
import unicodedata
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from productivecity._errors import DataSourceError, ParameterError, SchemaError
from productivecity._validate import require_columns, require_numeric
from productivecity.sources import regions

logger = logging.getLogger(__name__)

#: The breakdowns a job-seeker table may give, with the generic names of their categories
#: (a region's reader maps its own labels onto them; ``None``: the table's own labels,
#: e.g. age bands).
TARGET_GROUP_DIMENSIONS: dict[str, tuple[str, ...] | None] = {
    "education": ("low", "medium", "high", "foreign_unrecognised", "unknown"),
    "sex": ("men", "women"),
    "age": None,
}

#: The target group when a scenario chooses none: job seekers with a low education level.
DEFAULT_TARGET_GROUP: dict[str, list[str]] = {"education": ["low"]}

_CATEGORY_TEXT = {"foreign_unrecognised": "foreign diploma not recognised"}
_ALL_TEXT = {"education": "all education levels", "sex": "all sexes", "age": "all ages"}


def check_target_group(group: Mapping[str, Sequence[str] | str] | None,
                       *, what: str = "target_group") -> dict[str, list[str]]:
    """Return a target group as ``{dimension: [category, ...]}``, checked against the vocabulary.

    Parameters
    ----------
    group : mapping or None
        Dimension (:data:`TARGET_GROUP_DIMENSIONS`) to a category or a list of
        categories; None gives :data:`DEFAULT_TARGET_GROUP`.
    what : str
        Name of the setting in messages.

    Raises
    ------
    ParameterError
        An unknown dimension (the known ones listed), an unknown category of a
        dimension with a fixed vocabulary (its categories listed), or an empty list.
    """
    if group is None:
        return {k: list(v) for k, v in DEFAULT_TARGET_GROUP.items()}
    problems, out = [], {}
    for dim, values in group.items():
        if dim not in TARGET_GROUP_DIMENSIONS:
            problems.append(f"unknown key {dim!r} (known keys: "
                            f"{', '.join(TARGET_GROUP_DIMENSIONS)})")
            continue
        vals = [values] if isinstance(values, str) else list(values)
        if not vals:
            problems.append(f"{dim} lists no category")
            continue
        known = TARGET_GROUP_DIMENSIONS[dim]
        bad = [v for v in vals if known is not None and v not in known]
        if bad:
            problems.append(f"{dim}: unknown categor{'y' if len(bad) == 1 else 'ies'} {bad} "
                            f"(known: {', '.join(known)})")
        out[dim] = list(dict.fromkeys(vals))
    if problems:
        raise ParameterError(f"{what}: " + "; ".join(problems))
    return out


def table_categories(cells: pd.DataFrame) -> dict[str, list[str]]:
    """Return the categories a table of counts per breakdown has, per dimension."""
    cols = cells.columns
    if isinstance(cols, pd.MultiIndex):
        return {str(n): list(dict.fromkeys(map(str, cols.get_level_values(n))))
                for n in cols.names}
    return {str(cols.name): list(map(str, cols))}


def select_target_group(cells: pd.DataFrame, group: Mapping[str, Sequence[str]] | None,
                        *, what: str = "the job-seeker table") -> pd.Series:
    """Sum the counts of the target group's categories per unit.

    Parameters
    ----------
    cells : DataFrame
        Counts per unit (rows) and breakdown: columns named by dimension
        (``columns.name`` or the level names of a MultiIndex, e.g.
        ``["education", "sex"]``), one column per combination of categories.
    group : mapping or None
        Dimension → categories (:func:`check_target_group`); a dimension not
        named counts all its categories.
    what : str
        Name of the table in messages.

    Returns
    -------
    Series
        Persons per unit (NaN where every selected count is missing).

    Raises
    ------
    SchemaError
        The group names categories or dimensions the table does not have: one
        error listing the categories it has.
    """
    group = check_target_group(group)
    has = table_categories(cells)
    missing = []
    for dim, vals in group.items():
        if dim not in has:
            missing.append(f"{dim} (no such breakdown)")
        else:
            missing += [f"{dim} = {v}" for v in vals if v not in has[dim]]
    if missing:
        listing = "; ".join(f"{d}: {', '.join(v)}" for d, v in has.items())
        raise SchemaError(f"{what} has no target-group categor{'y' if len(missing) == 1 else 'ies'}"
                          f" {missing}; the categories it has: {listing}")
    keep = np.ones(cells.shape[1], dtype=bool)
    for dim, vals in group.items():
        level = (cells.columns.get_level_values(dim) if isinstance(cells.columns, pd.MultiIndex)
                 else cells.columns)
        keep &= np.isin(level.astype(str), vals)
    return cells.loc[:, keep].sum(axis=1, min_count=1).astype(float)


def describe_target_group(population: str, group: Mapping[str, Sequence[str]] | None,
                          dimensions: Sequence[str] = ("education", "sex")) -> str:
    """Return the definition of a target group in words.

    ``describe_target_group("unemployed job seekers (annual average 2024)",
    {"education": ["low", "foreign_unrecognised"]})`` gives ``"unemployed job
    seekers (annual average 2024) with education: low, foreign diploma not
    recognised; all sexes"``.

    Parameters
    ----------
    population : str
        Whom the table counts (source and period).
    group : mapping or None
        The target group (:func:`check_target_group`).
    dimensions : sequence of str
        The table's breakdowns: those the group leaves open are said to count all.
    """
    group = check_target_group(group)
    parts = [f"{dim}: {', '.join(_CATEGORY_TEXT.get(v, v) for v in vals)}"
             for dim, vals in group.items()]
    parts += [_ALL_TEXT.get(d, f"all {d}") for d in dimensions if d not in group]
    return f"{population} with {'; '.join(parts)}" if parts else population


def name_key(name: str) -> str:
    """Return a municipality name folded for matching: no accents, case, spaces or qualifiers.

    ``"Den Haag (Zuid-Holland)"``, ``"DEN HAAG"`` and ``"den haag"`` give the same key.
    """
    s = unicodedata.normalize("NFKD", str(name))
    s = "".join(c for c in s if not unicodedata.combining(c))
    s = s.split("(")[0].casefold()
    return "".join(c for c in s if c.isalnum())


def read_labour_table(kind: str, path: str | os.PathLike, **options) -> pd.DataFrame:
    """Read a labour source ``kind`` with the reader its region plug-in registered.

    Parameters
    ----------
    kind : str
        A labour source kind of the data-directory catalogue
        (:data:`productivecity.sources.catalog.SOURCES`).
    path : path-like
        The file.
    **options
        Passed to the region's reader (e.g. ``year=``, ``names=``).

    Returns
    -------
    DataFrame
        Indexed by unit code (``nis5``), counts in ``*_n`` and shares in
        ``*_pct`` columns, as the region's reader documents.
    """
    return regions.labour_reader(kind)(path, **options)


def read_unit_table(
    path: str | os.PathLike,
    *,
    code_column: str,
    value_columns: list[str],
    sep: str | None = None,
    unit_codes: pd.Index | None = None,
) -> pd.DataFrame:
    """Read any table keyed by a unit code (municipality, neighbourhood, statistical sector).

    Parameters
    ----------
    path : path-like
        CSV (separator sniffed unless ``sep``) or Excel file.
    code_column : str
        Column with the unit code (read as text, so leading zeros are kept).
    value_columns : list of str
        Numeric columns to keep.
    unit_codes : Index, optional
        Codes of the units the table must match; codes in the table that match
        none of them are listed in the error.

    Returns
    -------
    DataFrame
        Index named ``code_column``, the value columns as floats.
    """
    path = Path(path)
    if path.suffix.lower() in {".xlsx", ".xls"}:
        if not path.exists():
            raise DataSourceError(f"file {path} does not exist")
        df = pd.read_excel(path, dtype={code_column: str})
    else:
        df = _read_csv(path, sep=sep, dtype={code_column: str})
    require_columns(df, [code_column, *value_columns], what=str(path))
    require_numeric(df, value_columns, what=str(path))
    codes = df[code_column].astype(str).str.strip()
    out = df[value_columns].apply(pd.to_numeric).astype(float)
    out.index = pd.Index(codes.to_numpy(), name=code_column)
    _refuse_duplicates(out.index, what=str(path))
    if unit_codes is not None:
        unknown = sorted(set(out.index) - set(map(str, unit_codes)))
        if unknown:
            raise SchemaError(
                f"{path}: {len(unknown)} code(s) in column {code_column!r} match no unit: "
                f"{unknown[:20]}{' ...' if len(unknown) > 20 else ''}"
            )
    return out


def _read_csv(path: Path, *, sep: str | None, dtype=None) -> pd.DataFrame:
    if not path.exists():
        raise DataSourceError(f"file {path} does not exist")
    try:
        return pd.read_csv(
            path,
            sep=sep,
            encoding="utf-8-sig",
            dtype=dtype,
            engine="python" if sep is None else "c",
        )
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise DataSourceError(f"could not read {path} as a CSV table: {exc}") from exc


def _refuse_duplicates(index: pd.Index, *, what: str) -> None:
    dup = index[index.duplicated()].unique().tolist()
    if dup:
        raise SchemaError(f"{what}: unit codes occur more than once: {dup}")


def __getattr__(name: str):
    # readers that moved to a region plug-in stay importable from here
    return regions.compat_attribute(__name__, name)
