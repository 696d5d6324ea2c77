"""Who to credit: the attribution line of the data sources behind a map or table.

Every reader declares the source and licence of what it read (a
:class:`~productivecity.sources.load_report.Credit` on its layer report, or
recorded for tables, see :mod:`productivecity.sources.load_report`). The
outputs credit exactly those: :func:`layer_credits` gathers them from a
:class:`~productivecity.layers.LayerSet`, :func:`resolve_credits` applies a
scenario's ``[outputs] attribution`` (replaces) and ``attribution_extra``
(adds), and :func:`attribution` writes the line.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from productivecity import _i18n
from productivecity._errors import ConfigError, SchemaError
from productivecity.sources import regions
from productivecity.sources.load_report import (
    OSM_CREDIT,
    SAMPLE_CREDIT,
    Credit,
    as_credit,
    merge_credit,
)

logger = logging.getLogger(__name__)

#: The credits every run may use, by key; the region plug-ins add theirs
#: (:func:`known_credits`).
GENERIC_CREDITS: dict[str, Credit] = {"osm": OSM_CREDIT, "sample": SAMPLE_CREDIT}


def known_credits() -> dict[str, Credit]:
    """Return the credits that can be named by key: :data:`GENERIC_CREDITS`, then the regions'.

    Their order is the order of the attribution line.
    """
    out = dict(GENERIC_CREDITS)
    for key, text in regions.attributions().items():
        out.setdefault(key, Credit(key, text))
    return out


def ordered_credits(sources: Iterable[Credit | str]) -> list[Credit]:
    """Return the credits of ``sources`` once each, in the order of the attribution line.

    Credits that can be named by key (:func:`known_credits`) come first, in that
    order; the others (GTFS feeds, files, a scenario's own text) follow in the
    order given. The dates of a source credited more than once are folded
    together (:func:`~productivecity.sources.load_report.merge_credit`).

    Parameters
    ----------
    sources : iterable of Credit or str
        Credits, their dicts, or keys of :func:`known_credits`.

    Raises
    ------
    SchemaError
        An unknown key (the message lists the known ones).
    """
    known = known_credits()
    out: dict[str, Credit] = {}
    unknown = []
    for s in sources:
        if isinstance(s, str):
            if s not in known:
                unknown.append(s)
                continue
            c = known[s]
        else:
            c = as_credit(s)
        out[c.key] = merge_credit(out[c.key], c) if c.key in out else c
    if unknown:
        raise SchemaError(f"unknown data source key(s) {sorted(set(unknown))}; known keys: "
                          f"{list(known)}")
    rank = {k: i for i, k in enumerate(known)}
    return sorted(out.values(), key=lambda c: rank.get(c.key, len(rank)))


def attribution(sources: Iterable[Credit | str]) -> str:
    """Return the attribution line of ``sources``.

    Parameters
    ----------
    sources : iterable of Credit or str
        Credits (e.g. from :func:`layer_credits`) or keys of
        :func:`known_credits` (``"osm"``, a region's keys); repeats do not matter.

    Returns
    -------
    str
        Each credit's :meth:`~productivecity.sources.load_report.Credit.line`,
        in the order of :func:`ordered_credits`, joined by ``"; "``.

    Raises
    ------
    SchemaError
        An unknown key (the message lists the known ones).

    Examples
    --------
    >>> attribution(["sample", "osm", "osm"])
    '© OpenStreetMap contributors (ODbL); synthetic sample data of productivecity (not real data)'
    """
    return "; ".join(c.line() for c in ordered_credits(sources))


def credit_date(credit: Credit, lang: str = "en") -> str:
    """Return the date of a credit's data as shown after it ("data of 2013-01-01"), "" if none.

    A date read from the file's name says so; a file's modification date is
    called the file date, so nobody takes the day of a copy for the data's.

    Examples
    --------
    >>> credit_date(OSM_CREDIT.with_date("2013-01-01"))
    'data of 2013-01-01'
    >>> credit_date(OSM_CREDIT.with_date("2026-11-30", "file"), "nl")
    'bestandsdatum 2026-11-30'
    """
    c = as_credit(credit)
    if not c.date:
        return ""
    key = {"name": "data_of_name", "file": "file_date"}.get(c.date_kind, "data_of")
    return _i18n.text(key, lang, d=c.date)


def dated_attribution(sources: Iterable[Credit | str], lang: str = "en") -> str:
    """Return the attribution line of ``sources`` with the date of each one's data.

    Like :func:`attribution`, each credit followed by its :func:`credit_date`.

    Examples
    --------
    >>> dated_attribution([OSM_CREDIT.with_date("2013-01-01")], "fr")
    '© OpenStreetMap contributors (ODbL), données de 2013-01-01'
    """
    out = []
    for c in ordered_credits(sources):
        d = credit_date(c, lang)
        out.append(f"{c.line()}, {d}" if d else c.line())
    return "; ".join(out)


def layer_credits(layers, *, names: Iterable[str] | None = None) -> list[Credit]:
    """Return the credits of the layers present, as their readers declared them.

    Parameters
    ----------
    layers : LayerSet or mapping of str to GeoDataFrame
        With a :class:`~productivecity.layers.LayerSet`, the credits of the
        reports of its loaded layers (a layer left out credits nothing). A plain
        mapping says nothing of its sources: no credit (give ``sources=`` to
        the output functions).
    names : iterable of str, optional
        Only these layers (default: all).

    Returns
    -------
    list of Credit
        In the order of :func:`ordered_credits`.

    Examples
    --------
    >>> from productivecity.layers import load_layers
    >>> [c.key for c in layer_credits(load_layers("sample", progress=False))]
    ['sample', 'hubs_catalogue']
    """
    wanted = set(names) if names is not None else None
    present = getattr(layers, "layers", {})
    found: list[Credit] = []
    for rep in getattr(layers, "reports", None) or []:
        if (wanted is None or rep.layer in wanted) and rep.layer in present:
            found += rep.credits
    return ordered_credits(found)


def _override(value, *, key: str) -> list[Credit]:
    """Return the credits of one ``[outputs]`` key: known keys by key, any other as its text."""
    items = [value] if isinstance(value, str) else list(value)
    if not items:
        raise ConfigError(f"[outputs] {key} is an empty list: give the credit line(s) to show, "
                          f"e.g. {key} = [\"© OpenStreetMap contributors (ODbL)\", "
                          f"\"© My city (CC BY 4.0)\"], or leave the key out")
    known = known_credits()
    out = []
    for item in items:
        if not isinstance(item, str) or not item.strip():
            raise ConfigError(f"[outputs] {key}: every entry must be a non-empty credit line or "
                              f"one of the keys {list(known)}, got {item!r}")
        text = item.strip()
        out.append(known.get(text) or Credit(f"text:{text}", text))
    return out


def check_override(replace=None, extra=None) -> None:
    """Check a scenario's ``[outputs] attribution`` and ``attribution_extra``.

    See :func:`resolve_credits`.

    Raises
    ------
    ConfigError
        An empty list or an empty entry.
    """
    for key, value in (("attribution", replace), ("attribution_extra", extra)):
        if value is not None:
            _override(value, key=key)


def resolve_credits(credits: Iterable[Credit | str], *, replace=None, extra=None
                    ) -> list[Credit]:
    """Return the credits of an output: those read, or a scenario's own, plus its extras.

    Parameters
    ----------
    credits : iterable of Credit or str
        The credits of the sources used (e.g. :func:`layer_credits`).
    replace : str or list of str, optional
        ``[outputs] attribution``: the credit lines shown instead of ``credits``.
        An entry that is a key of :func:`known_credits` (``"osm"``, a region's
        key) stands for its standard line; any other entry is the line itself.
    extra : str or list of str, optional
        ``[outputs] attribution_extra``: credit lines added (same rules).

    Returns
    -------
    list of Credit
        In the order of :func:`ordered_credits`.

    Raises
    ------
    ConfigError
        An empty list or an empty entry.

    Examples
    --------
    >>> from productivecity.sources.load_report import OSM_CREDIT
    >>> attribution(resolve_credits([OSM_CREDIT], extra="© City of Kotka (CC BY 4.0)"))
    '© OpenStreetMap contributors (ODbL); © City of Kotka (CC BY 4.0)'
    >>> attribution(resolve_credits([OSM_CREDIT], replace=["Kotka planning office", "osm"]))
    '© OpenStreetMap contributors (ODbL); Kotka planning office'
    """
    base = list(credits) if replace is None else _override(replace, key="attribution")
    if extra is not None:
        base += _override(extra, key="attribution_extra")
    return ordered_credits(base)
