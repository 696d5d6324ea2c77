"""Exceptions and warnings raised by productivecity.

Every exception derives from :class:`ProductiveCityError` and also from the
built-in exception a caller would expect (``OSError`` for files,
``ValueError`` for bad values), so ``except ValueError`` keeps working.
"""

from __future__ import annotations


class ProductiveCityError(Exception):
    """Root of all productivecity errors."""


class DataSourceError(ProductiveCityError, OSError):
    """A file or download is missing, unreadable or not of the expected format."""


class SchemaError(ProductiveCityError, ValueError):
    """A table or layer lacks a required column, or a column has the wrong type."""


class CRSError(ProductiveCityError, ValueError):
    """A layer has no CRS, or a geographic CRS where metric work needs a projected one."""


class AreaError(ProductiveCityError, ValueError):
    """A study area cannot be resolved (unknown preset, empty polygon, ...)."""


class EmptyLayerError(ProductiveCityError, ValueError):
    """A layer has no features inside the study area."""


class OutputExistsError(ProductiveCityError, FileExistsError):
    """An output file exists and ``overwrite`` was not set."""


class NetworkError(ProductiveCityError, ValueError):
    """A street network is unusable (empty, wrong CRS, bad parameters)."""


class ProductiveCityWarning(UserWarning):
    """Base class of productivecity warnings (filter these to silence them)."""


class DataQualityWarning(ProductiveCityWarning):
    """Input data were repaired, clipped or partly unusable; counts are reported."""


class CriteriaError(ProductiveCityError, ValueError):
    """A criteria specification is invalid (bad weights, unknown keys, inconsistent AHP matrix)."""


class AllocationError(ProductiveCityError, ValueError):
    """A location-allocation problem is ill-posed (k larger than the candidates, bad ids)."""


class SolverError(ProductiveCityError, RuntimeError):
    """An optimisation solve failed or the problem is infeasible; no partial result is returned."""


class CriteriaWarning(ProductiveCityWarning):
    """A criteria specification was adjusted (weights normalised, a constant criterion)."""


class ConfigError(ProductiveCityError, ValueError):
    """A run configuration (TOML) has unknown keys, wrong types or bad values; all are listed."""
