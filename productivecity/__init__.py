"""productivecity: find sites for maker-learning hubs in the productive city.

Load study-area layers (industrial zones, canal, hubs, transit, units) from
real open data, compute accessibility and labour-market indicators on the
street network, rank candidate sites and map them for planning workshops.
All metric work is done in :data:`PROJECT_CRS` (EPSG:31370).
"""

import logging

from productivecity._errors import (
    AreaError,
    CRSError,
    DataQualityWarning,
    DataSourceError,
    EmptyLayerError,
    NetworkError,
    OutputExistsError,
    ProductiveCityError,
    ProductiveCityWarning,
    SchemaError,
)
from productivecity.settings import PROJECT_CRS, Settings, get_settings

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = [
    "PROJECT_CRS",
    "AreaError",
    "CRSError",
    "DataQualityWarning",
    "DataSourceError",
    "EmptyLayerError",
    "NetworkError",
    "OutputExistsError",
    "ProductiveCityError",
    "ProductiveCityWarning",
    "SchemaError",
    "Settings",
    "__version__",
    "get_settings",
]
