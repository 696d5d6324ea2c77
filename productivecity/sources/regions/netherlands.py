"""The Netherlands: CBS municipality codes, the RD New grid and the Dutch presets.

The region plug-in of the Netherlands (:data:`REGION`, registered in
:mod:`productivecity.sources.regions`). The generic readers reach it only
through the registry.

Municipalities are keyed by their CBS code (``gemeentecode``: ``"GM"`` and
four digits, e.g. ``"GM0599"`` for Rotterdam). Municipality files of CBS (the
"Wijk- en Buurtkaart" layer ``gemeenten``: ``gemeentecode``,
``gemeentenaam``; the CBS area divisions: ``statcode``, ``statnaam``; older
shapefiles: ``GM_CODE``, ``GM_NAAM``) are read with these rules; bare numbers
(``599``, ``"0599"``) become ``"GM0599"``.

Presets
-------
``rotterdam``, ``almere``
    The municipalities of Rotterdam (GM0599) and Almere (GM0034), the Dutch
    cities of the seeds' hubs: dissolved from a ``municipalities`` file of
    the data directory, or geocoded through osmnx (Nominatim) when online.

Every Dutch preset is in Amersfoort / RD New (:data:`DUTCH_CRS`,
EPSG:28992), the national metric grid, with Dutch outputs by default
(``lang="nl"``).
"""

from __future__ import annotations

import pandas as pd

from productivecity.area import Preset
from productivecity.sources.regions import Region, SourcePatterns, UnitCodes

#: Amersfoort / RD New, the national metric grid of the Dutch presets.
DUTCH_CRS = "EPSG:28992"

#: Column names recognised as the CBS municipality code, in order of preference.
CODE_COLUMNS = ("gemeentecode", "statcode", "GM_CODE", "gm_code")

#: Column names recognised as the municipality name, in order of preference.
NAME_COLUMNS = ("gemeentenaam", "statnaam", "GM_NAAM", "gm_naam", "naam", "name")


def normalise_gemeentecode(values: pd.Series) -> pd.Series:
    """Return CBS municipality codes as ``"GM"`` + 4 digits.

    ``"GM0599"``, ``"gm0599"``, ``"0599"``, ``599`` and ``599.0`` all become
    ``"GM0599"``; anything else is kept (stripped) and fails the code pattern.

    Examples
    --------
    >>> normalise_gemeentecode(pd.Series(["GM0599", 34, "0599", " gm0034 ", 599.0])).tolist()
    ['GM0599', 'GM0034', 'GM0599', 'GM0034', 'GM0599']
    """
    s = values.astype("string").str.strip().str.upper()
    s = s.str.replace(r"\.0+$", "", regex=True)
    digits = s.str.fullmatch(r"\d{1,4}").fillna(False).astype(bool)
    return s.mask(digits, "GM" + s.str.zfill(4))


#: Dutch patterns and hints added to the generic catalogue kinds (tried after the generic ones).
SOURCE_PATTERNS = {
    "municipalities": SourcePatterns(
        after=("boundaries/**/*gemeenten*.gpkg", "boundaries/**/*gemeenten*.geojson"),
        hint="the 'gemeenten' layer of the CBS Wijk- en Buurtkaart (column gemeentecode = "
             "GM####) saved alone as boundaries/gemeenten.gpkg",
    ),
}


def _city(name: str, title: str, code: str, province: str) -> Preset:
    """Return the one-municipality preset of a Dutch city (Dutch outputs, RD New)."""
    return Preset(name=name, title=title, codes=(code,),
                  place_queries=(f"{title}, {province}, Netherlands",), crs=DUTCH_CRS, lang="nl")


#: The Dutch cities of the seeds' hubs, one municipality each.
ROTTERDAM = _city("rotterdam", "Rotterdam", "GM0599", "Zuid-Holland")
ALMERE = _city("almere", "Almere", "GM0034", "Flevoland")

#: The region plug-in.
REGION = Region(
    name="netherlands",
    title="The Netherlands",
    extent=(3.2, 50.7, 7.3, 53.7),
    presets=(ROTTERDAM, ALMERE),
    source_patterns=SOURCE_PATTERNS,
    municipality_codes=UnitCodes(
        label="CBS gemeente", columns=CODE_COLUMNS, name_columns=NAME_COLUMNS,
        normalise=normalise_gemeentecode, pattern=r"GM\d{4}",
    ),
)
