"""Readers for the raw inputs: OSM files and tiles, boundaries, transit, hubs, statistics.

Each module reads one family of sources into GeoDataFrames in the study area's
metric CRS; :mod:`productivecity.layers` assembles them into layers.
"""
