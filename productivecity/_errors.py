"""Exceptions and warnings raised by productivecity.

Every exception derives from :class:`ProductiveCityError` and also from the
built-in exception a caller would expect (``OSError`` for files,
``ValueError`` for bad values), so ``except ValueError`` keeps working.
"""

from __future__ import annotations

__all__ = [
    "AllocationError",
    "AreaError",
    "ConfigError",
    "CRSError",
    "CriteriaError",
    "CriteriaWarning",
    "DataQualityWarning",
    "DataSourceError",
    "EmptyLayerError",
    "MissingLayerError",
    "NetworkError",
    "NotDiscriminatingWarning",
    "OutputExistsError",
    "ParameterError",
    "ParameterTypeError",
    "ProductiveCityError",
    "ProductiveCityWarning",
    "SchemaError",
    "SolverError",
    "SourceNotFoundError",
    "UnknownKeyError",
]


class ProductiveCityError(Exception):
    """Root of all productivecity errors."""


class DataSourceError(ProductiveCityError, OSError):
    """A file or download is missing, unreadable or not of the expected format."""


class SourceNotFoundError(DataSourceError):
    """No file (or download) provides an input; the message names what would.

    An input that is absent, as opposed to one that exists but cannot be read
    (:class:`DataSourceError`): optional inputs that are absent are left out
    and reported as missing.
    """


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


class NotDiscriminatingWarning(CriteriaWarning):
    """A criterion is constant within its precision over the eligible sites: it carried no weight.

    Recorded in the scoring result (``SuitabilityResult.criteria["discriminating"]``).
    """


class ConfigError(ProductiveCityError, ValueError):
    """A run configuration (TOML, settings, environment variables) is invalid; all are listed.

    Unknown keys, wrong types or bad values.
    """


class ParameterTypeError(ProductiveCityError, TypeError):
    """A function argument has the wrong type (e.g. a DataFrame where a GeoDataFrame is needed)."""


class UnknownKeyError(ProductiveCityError, KeyError):
    """A name (site id, label, source kind, ...) is not among the known ones.

    It is a ``KeyError`` for callers that expect one, but prints its message as
    it is (``KeyError`` would quote it).
    """

    def __str__(self) -> str:
        return str(self.args[0]) if len(self.args) == 1 else super().__str__()


class MissingLayerError(UnknownKeyError):
    """A layer asked for was not loaded (its source is missing, or it was left out)."""


class ParameterError(ProductiveCityError, ValueError):
    """A function argument has a bad value (e.g. a travel-time limit that is not positive)."""
