"""Outputs a planner takes away: maps and atlas, web map, tables, report.

- :mod:`~productivecity.outputs.maps`: print-ready maps (overview, one map per
  indicator, isochrones) and the multi-page PDF atlas;
- :mod:`~productivecity.outputs.attribution`: who to credit for the data drawn;
- :mod:`~productivecity.outputs.webmap`: the offline HTML web map;
- :mod:`~productivecity.outputs.export`: GeoPackage, GeoParquet, CSV and the
  suitability GeoTIFF;
- :mod:`~productivecity.outputs.report`: the HTML report of a run.

Every writer writes atomically and refuses to overwrite unless told so.
"""
