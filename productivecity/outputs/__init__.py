"""Print-ready static maps of candidate sites: overview, indicators, isochrones, atlas.

Every map is drawn in the project CRS (EPSG:31370, metres) with the context
layers of a :class:`~productivecity.layers.LayerSet` (study area, municipalities,
industrial land, canal zone, canal, railway stations, existing hubs), the
candidate sites coloured by a value, the top ``k`` sites labelled with their
rank, a legend, a metric scale bar, a north arrow and a footer with the date,
the CRS and the attribution of every data source used. Labels come in Dutch,
French or English (:mod:`productivecity._i18n`).

Map functions take ``ax=None``: without an axes they lay out a whole sheet
(A3 landscape by default; ``paper="A4"`` or ``"A1"``) with a title, the map and
a side panel (legend, colour bar, list of the top sites); with an axes they
draw the map, legend and footer into it. They return ``(figure, axes)``.

Output is deterministic: fixed fonts (DejaVu Sans, shipped with matplotlib),
fixed sizes, no timestamps or software versions in PNG/PDF metadata, so the
same inputs give the same bytes. Save with :func:`save_figure` (PNG at 300 dpi,
PDF, SVG) or :func:`save_atlas` (multi-page PDF); both write atomically and
refuse to overwrite unless ``overwrite=True``.

No tile basemap is drawn: the maps are complete offline. The north arrow
points to grid north of Belgian Lambert 72, which differs from true north by
less than one degree in Brussels.
"""


__all__ = [
]
