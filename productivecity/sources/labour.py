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
from pathlib import Path

import pandas as pd

from productivecity._errors import DataSourceError, SchemaError
from productivecity._validate import require_columns, require_numeric
from productivecity.sources import regions

logger = logging.getLogger(__name__)

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
