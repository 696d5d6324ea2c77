"""Existing maker-learning hubs: the catalogue shipped with the package and the user's own.

The catalogue (``productivecity/data/hubs.csv``, documented in
``data/hubs_README.md``) lists maker-learning hubs and kin (fablabs,
makerspaces, hackerspaces, broedplekken, makers districts) in Brussels and
reference cases in Flanders and the Netherlands, each with the public source
of its location and a ``location_precision``. Users add their own hubs from a
CSV (longitude/latitude columns), GeoJSON or GeoPackage. The hubs tagged in
OpenStreetMap (``leisure=hackerspace`` and kin, :func:`read_osm_hubs`) are
added from the data directory's OSM file, so an area outside the catalogue
has the hubs OSM knows.

Schema of :func:`hubs` and :func:`read_hubs` (index ``hub_id``, str, unique):

=========================  ==============================================================
``name``                   hub name (str)
``city``                   city or municipality as stated by the source (str, may be "")
``municipality_nis5``      NIS5 code of the Belgian municipality (str, "" if not Belgian)
``country``                ISO 3166-1 alpha-2 (str, may be "")
``type``                   one of :data:`HUB_TYPES`
``training_places_n``      training places (Int64; <NA> where no source gives capacity,
                           never 0 by default)
``location_precision``     ``address``, ``osm_point``, ``street``, ``site_approx``
                           (hand-placed on the documented site) or ``user``
``source``                 ``catalogue``, the user's file or ``OpenStreetMap`` (str)
``source_url``             public source of the location (str, may be "")
``geometry``               Point, in the study area's CRS
=========================  ==============================================================
"""

from __future__ import annotations

import csv
import logging
import os
import re
import unicodedata
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from productivecity._errors import DataSourceError, EmptyLayerError, SchemaError
from productivecity._validate import require_columns
from productivecity.crs import metric_crs_of, to_crs
from productivecity.sources._read import read_vector
from productivecity.sources.catalog import DataDir
from productivecity.sources.load_report import OSM_CREDIT, Credit, LayerReport, file_credit
from productivecity.sources.units import _area_geometry, normalise_nis5

logger = logging.getLogger(__name__)

#: Controlled vocabulary of the ``type`` column.
HUB_TYPES = ("maker_learning_hub", "fablab", "makerspace", "hackerspace", "broedplek",
             "makers_district", "other")
#: Controlled vocabulary of the catalogue's ``profile`` column: the reach a hub's
#: documentation supports (``neighbourhood``: the people within walking distance;
#: ``city-wide``: a public from the whole city), ``unknown`` where it supports none.
HUB_PROFILES = ("neighbourhood", "city-wide", "unknown")
#: Columns of every hub layer (index ``hub_id``), in order.
HUB_COLUMNS = ("name", "city", "municipality_nis5", "country", "type", "training_places_n",
               "location_precision", "source", "source_url")
#: User hubs closer than this (metres) to a catalogue hub of the same name are duplicates.
DUPLICATE_DISTANCE_M = 100.0

_CATALOGUE = Path(__file__).resolve().parent.parent / "data" / "hubs.csv"


def catalogue_path() -> Path:
    """Return the path of the shipped hub catalogue CSV."""
    return _CATALOGUE


def catalogue() -> gpd.GeoDataFrame:
    """Return the whole shipped hub catalogue, in longitude/latitude (EPSG:4326).

    Returns
    -------
    GeoDataFrame
        Index ``hub_id``; the columns of :data:`HUB_COLUMNS` plus ``address``,
        ``source_note``, ``checked`` (date the entry was checked), ``profile``
        (one of :data:`HUB_PROFILES`) and ``profile_source`` (the source and
        reason of the profile), and
        ``geometry`` (Point, EPSG:4326). Coordinates in the CSV are WGS84
        ``lon``/``lat``.

    Examples
    --------
    >>> from productivecity.sources.hubs import catalogue
    >>> cat = catalogue()
    >>> cat.loc["atelier-groot-eiland", "municipality_nis5"]
    '21012'
    >>> cat.crs.to_epsg()
    4326
    """
    df = pd.read_csv(_CATALOGUE, dtype=str, keep_default_na=False, encoding="utf-8")
    require_columns(df, ["hub_id", "name", "lon", "lat", "type", "source_url", "profile",
                         "profile_source"], what=str(_CATALOGUE))
    problems = []
    if df["hub_id"].duplicated().any():
        problems.append(f"repeated hub_id {df.loc[df['hub_id'].duplicated(), 'hub_id'].tolist()}")
    bad_type = ~df["type"].isin(HUB_TYPES)
    if bad_type.any():
        problems.append(f"unknown type {df.loc[bad_type, 'type'].tolist()}")
    bad_profile = ~df["profile"].isin(HUB_PROFILES)
    if bad_profile.any():
        problems.append(f"profile not one of {list(HUB_PROFILES)}: "
                        f"{df.loc[bad_profile, 'profile'].tolist()}")
    unsourced = df["profile"].ne("unknown") & df["profile_source"].str.strip().eq("")
    if unsourced.any():
        problems.append(f"profile without profile_source: {df.loc[unsourced, 'hub_id'].tolist()}")
    lon = pd.to_numeric(df["lon"], errors="coerce")
    lat = pd.to_numeric(df["lat"], errors="coerce")
    if lon.isna().any() or lat.isna().any():
        problems.append("rows without coordinates")
    if problems:  # the shipped file is checked by the tests; this guards local edits
        raise SchemaError(f"{_CATALOGUE}: " + "; ".join(problems))
    out = gpd.GeoDataFrame(
        {
            "name": df["name"],
            "city": df["city"],
            "municipality_nis5": df["municipality_nis5"],
            "country": df["country"],
            "type": df["type"],
            "training_places_n": _int_column(df["training_places_n"], what=str(_CATALOGUE)),
            "location_precision": df["location_precision"],
            "source": "catalogue",
            "source_url": df["source_url"],
            "address": df["address"],
            "source_note": df["source_note"],
            "checked": df["checked"],
            "profile": df["profile"],
            "profile_source": df["profile_source"],
        },
        geometry=gpd.points_from_xy(lon, lat, crs="EPSG:4326"),
    )
    out.index = pd.Index(df["hub_id"].to_numpy(), name="hub_id")
    return out


def hub_profiles(hub_ids) -> pd.Series:
    """Return the catalogue profile of each hub: ``neighbourhood``, ``city-wide`` or ``unknown``.

    Parameters
    ----------
    hub_ids : iterable of str
        Hub ids, e.g. the index of the ``hubs`` layer.

    Returns
    -------
    pandas.Series
        Named ``profile``, indexed by ``hub_ids``. Hubs not in the catalogue (the
        user's own, OpenStreetMap's) are ``unknown``: their reach is never guessed.

    Examples
    --------
    >>> from productivecity.sources.hubs import hub_profiles
    >>> hub_profiles(["t2-campus", "openfab", "my-hub"]).tolist()
    ['city-wide', 'unknown', 'unknown']
    """
    ids = pd.Index(list(hub_ids), name="hub_id")
    return catalogue()["profile"].reindex(ids).fillna("unknown").rename("profile")


def read_hubs(
    path: str | os.PathLike,
    *,
    name_column: str = "name",
    lon_column: str = "lon",
    lat_column: str = "lat",
    crs: str = "EPSG:4326",
    id_column: str | None = None,
    type_column: str | None = "type",
    capacity_column: str | None = "training_places_n",
    layer: str | None = None,
) -> tuple[gpd.GeoDataFrame, LayerReport]:
    """Read the user's own hubs from a CSV, GeoJSON or GeoPackage.

    Parameters
    ----------
    path : path-like
        A CSV with a name and longitude/latitude columns, or any vector file
        with point geometry (polygons are reduced to a point inside them).
    name_column : str, default "name"
        Column with the hub name (required).
    lon_column, lat_column : str, default "lon", "lat"
        Coordinate columns of a CSV, in ``crs`` (longitude = x).
    crs : str, default "EPSG:4326"
        CRS of the CSV coordinates (vector files carry their own CRS).
    id_column : str, optional
        Column of stable ids; default: a slug of the name, made unique.
    type_column : str or None, default "type"
        Column with the hub type; values outside :data:`HUB_TYPES` become
        ``other`` (counted). Missing column → ``other``.
    capacity_column : str or None, default "training_places_n"
        Column with training places; missing → <NA> (never 0).
    layer : str, optional
        Layer of a multi-layer file.

    Returns
    -------
    GeoDataFrame
        The hub schema of this module, ``source`` = the file,
        ``location_precision`` = ``user``.
    LayerReport
        Layer ``hubs``: rows without coordinates or with a repeated id are
        skipped and counted.
    """
    path = Path(path)
    if not path.exists():
        raise DataSourceError(f"hub file {path} does not exist")
    report = LayerReport("hubs", sources=[str(path)])
    report.credit(file_credit(path, "hubs"), source=path)
    if path.suffix.lower() in (".csv", ".txt", ".tsv"):
        try:
            df = pd.read_csv(path, sep=None, engine="python", dtype=str, encoding="utf-8-sig")
        except (UnicodeDecodeError, csv.Error, pd.errors.ParserError,
                pd.errors.EmptyDataError) as exc:  # csv.Error: empty, separator not found
            raise DataSourceError(f"could not read {path} as a CSV table: {exc}") from exc
        require_columns(df, [name_column, lon_column, lat_column], what=str(path))
        report.read_n = len(df)
        x = pd.to_numeric(df[lon_column].str.replace(",", ".", regex=False), errors="coerce")
        y = pd.to_numeric(df[lat_column].str.replace(",", ".", regex=False), errors="coerce")
        ok = (x.notna() & y.notna()).to_numpy()
        report.skip("no coordinates", int((~ok).sum()))
        df = df.loc[ok]
        geoms = gpd.GeoSeries(gpd.points_from_xy(x[ok], y[ok]), index=df.index, crs=crs)
    else:
        gdf = read_vector(path, layer=layer)
        require_columns(gdf, [name_column], what=str(path))
        report.read_n = len(gdf)
        gdf, geoms = _as_points(gdf, report, missing="no coordinates",
                                reduced="non-point geometries reduced to a point inside them")
        df = pd.DataFrame(gdf.drop(columns=gdf.geometry.name))
    names = df[name_column].fillna("").astype(str).str.strip()
    if id_column is not None:
        require_columns(df, [id_column], what=str(path))
        ids = df[id_column].astype(str).str.strip()
    else:
        ids = _unique_slugs(names)
    first = ~ids.duplicated(keep="first").to_numpy()
    report.skip("repeated hub id (first kept)", int((~first).sum()))
    types = (df[type_column].fillna("").astype(str).str.strip()
             if type_column and type_column in df.columns else pd.Series("other", index=df.index))
    unknown = ~types.isin(HUB_TYPES)
    if unknown.any():
        report.notes.append(f"{int(unknown.sum())} hubs with a type outside {list(HUB_TYPES)} set "
                            f"to 'other'")
        types = types.where(~unknown, "other")
    places = (_int_column(df[capacity_column], what=f"{path} column {capacity_column!r}")
              if capacity_column and capacity_column in df.columns
              else pd.array([pd.NA] * len(df), dtype="Int64"))
    blank = pd.Series("", index=df.index)
    city = df["city"].fillna("").astype(str) if "city" in df.columns else blank
    nis = (normalise_nis5(df["municipality_nis5"]).fillna("")
           if "municipality_nis5" in df.columns else blank)
    country = df["country"].fillna("").astype(str) if "country" in df.columns else blank
    url = df["source_url"].fillna("").astype(str) if "source_url" in df.columns else blank
    out = gpd.GeoDataFrame(
        {
            "name": names.to_numpy(),
            "city": city.to_numpy(),
            "municipality_nis5": np.asarray(nis, dtype=object),
            "country": country.to_numpy(),
            "type": types.to_numpy(),
            "training_places_n": pd.array(places, dtype="Int64"),
            "location_precision": "user",
            "source": str(path),
            "source_url": url.to_numpy(),
        },
        geometry=np.asarray(geoms.values),
        crs=geoms.crs,
        index=pd.Index(ids.to_numpy(), name="hub_id"),
    )
    out = out.loc[first]
    report.features_n = len(out)
    return out, report


def hubs(
    area=None,
    *,
    path: str | os.PathLike | None = None,
    include_catalogue: bool = True,
    data_dir: str | os.PathLike | None = None,
    osm_path: str | os.PathLike | None = None,
    **read_options,
) -> tuple[gpd.GeoDataFrame, LayerReport]:
    """Return the existing hubs in the study area: the catalogue, the user's file and OSM.

    Parameters
    ----------
    area : GeoDataFrame or GeoSeries, optional
        Study-area polygon(s), any CRS; None keeps every hub.
    path : path-like, optional
        The user's hubs (see :func:`read_hubs`; ``read_options`` are passed on).
    include_catalogue : bool, default True
        Include the shipped catalogue.
    data_dir : path-like, optional
        Data directory whose OSM file (``osm_pbf``, else ``osm_xml``) adds the
        hubs tagged in OpenStreetMap (:func:`read_osm_hubs`).
    osm_path : path-like, optional
        An OSM file to read the hubs from (instead of the data directory's).

    Returns
    -------
    GeoDataFrame
        The hub schema of this module, index ``hub_id``, in the area's metric
        CRS (without an area: the UTM zone of the hubs). A user
        hub within :data:`DUPLICATE_DISTANCE_M` of a catalogue hub with the
        same name replaces it (the user's data are taken as newer); such
        pairs, and user ids that collide with catalogue ids, are counted. An
        OSM hub within that distance of a catalogue or user hub of the same
        name is left out (counted): the catalogue documents its hubs, the
        user's file is taken as newer.
    LayerReport
        Layer ``hubs``; a note says when every hub in the area comes from
        OpenStreetMap.
    """
    osm_file = Path(osm_path) if osm_path is not None else None
    if osm_file is None and data_dir is not None:
        dd = DataDir(data_dir)
        osm_file = dd.find("osm_pbf") or dd.find("osm_xml")
    if path is None and not include_catalogue and osm_file is None:
        where = f" (no OSM file in {data_dir})" if data_dir is not None else ""
        raise DataSourceError(f"no hubs requested: give path=..., data_dir=... with an OSM "
                              f"file and/or include_catalogue=True{where}")
    report = LayerReport("hubs")
    parts = []
    crs = metric_crs_of(area, what="area") if area is not None else None
    if include_catalogue:
        cat = catalogue()[list(HUB_COLUMNS) + ["geometry"]]
        crs = crs if crs is not None else metric_crs_of(cat, what="hub catalogue")
        cat = to_crs(cat, crs, what="hub catalogue")
        report.sources.append(str(_CATALOGUE))
        report.read_n += len(cat)
        parts.append(cat)
    if path is not None:
        user, urep = read_hubs(path, **read_options)
        crs = crs if crs is not None else metric_crs_of(user, what=str(path))
        user = to_crs(user, crs, what=str(path))
        report.absorb(urep, credits=False)  # credited by the hubs kept (_credit_hubs)
        if include_catalogue:
            dup = _same_hub(user, parts[0])
            if len(dup):
                report.skip("catalogue hub replaced by the same hub in the user's file", len(dup))
                parts[0] = parts[0].drop(index=dup)
            clash = user.index.intersection(parts[0].index)
            if len(clash):
                report.notes.append(f"user hub ids also used by the catalogue renamed with "
                                    f"suffix '-user': {list(clash)}")
                user = user.rename(index={c: f"{c}-user" for c in clash})
        parts.append(user)
    if osm_file is not None:
        osm, orep = read_osm_hubs(osm_file)
        if crs is None and len(osm):
            crs = metric_crs_of(osm, what=str(osm_file))
        osm = to_crs(osm, crs if crs is not None else osm.crs, what=str(osm_file))
        crs = osm.crs if crs is None else crs
        report.absorb(orep, credits=False)
        if parts:
            known = pd.concat(parts)
            dup = _same_hub(known, osm)
            report.skip("OpenStreetMap hub already in the catalogue or the user's file",
                        len(dup))
            osm = osm.drop(index=dup)
            clash = osm.index.intersection(known.index)
            if len(clash):
                report.notes.append(f"OpenStreetMap hub ids also used by the catalogue or the "
                                    f"user's file renamed with suffix '-osm': {list(clash)}")
                osm = osm.rename(index={c: f"{c}-osm" for c in clash})
        parts.append(osm)
    out = gpd.GeoDataFrame(pd.concat(parts), crs=crs)
    out.index.name = "hub_id"
    if area is not None:
        poly = _area_geometry(area)
        inside = out.geometry.intersects(poly).to_numpy()
        report.outside_area_n = int((~inside).sum())
        out = out.loc[inside]
        if out.empty:
            raise EmptyLayerError(
                f"no hub lies in the study area ({report.outside_area_n} hubs from "
                f"{', '.join(report.sources)} are all outside"
                + "".join(f"; {n}" for n in (orep.notes if osm_file is not None else []))
                + "); give your own with path=..."
            )
        if osm_file is not None and out["source"].eq(OSM_SOURCE).all():
            report.notes.append(f"every hub in the area comes from OpenStreetMap "
                                f"({osm_file.name}): no catalogue or user hub lies there")
    unknown_cap = int(out["training_places_n"].isna().sum())
    if unknown_cap:
        report.notes.append(f"{unknown_cap} of {len(out)} hubs have no documented training "
                            f"places (training_places_n <NA>)")
    _credit_hubs(report, out, path, osm_file)
    report.features_n = len(out)
    report.log()
    return out, report


#: Credit of the shipped catalogue (each hub's own source is in its ``source_url``).
CATALOGUE_CREDIT = Credit("hubs_catalogue",
                          "productivecity hub catalogue (public sources, OpenStreetMap)")


def _credit_hubs(report: LayerReport, out: gpd.GeoDataFrame, path, osm_file) -> None:
    """Credit the sources of the hubs kept: the catalogue, the user's file, OpenStreetMap."""
    kept = set(out["source"])
    if "catalogue" in kept:
        report.credit(CATALOGUE_CREDIT)
    if path is not None and str(Path(path)) in kept:
        report.credit(file_credit(path, "hubs"), source=path)
    if OSM_SOURCE in kept:
        report.credit(OSM_CREDIT, source=osm_file)


#: OSM tags of maker hubs read by :func:`read_osm_hubs` (osmnx-style filter).
OSM_HUB_TAGS = {"leisure": ["hackerspace", "makerspace"], "amenity": ["makerspace", "fablab"]}
#: ``source`` of the hubs read from OpenStreetMap.
OSM_SOURCE = "OpenStreetMap"


def _osm_hub_type(tags: pd.Series) -> str:
    """Hub type from the OSM tags: the ``hackerspace:type`` subtype, else the main tag."""
    for key in ("hackerspace:type", "hackerspace"):
        value = str(tags.get(key) or "").strip().lower().replace(" ", "")
        if value in ("makerspace", "fablab", "hackerspace"):
            return value
    if tags.get("amenity") == "fablab":
        return "fablab"
    if "makerspace" in (tags.get("leisure"), tags.get("amenity")):
        return "makerspace"
    return "hackerspace"


def read_osm_hubs(path: str | os.PathLike) -> tuple[gpd.GeoDataFrame, LayerReport]:
    """Read the maker hubs of an OSM PBF or XML file.

    Read are features tagged ``leisure=hackerspace`` (the OSM wiki's tag for
    hackerspaces, makerspaces and fablabs, with the subtype in
    ``hackerspace:type=makerspace|fablab``), and the rarer
    ``leisure=makerspace``, ``amenity=makerspace`` and ``amenity=fablab``.
    Craft workshops (``craft=*``) are businesses, not hubs, and are not read.

    Parameters
    ----------
    path : path-like
        The OSM file (``.osm.pbf`` or ``.osm``).

    Returns
    -------
    GeoDataFrame
        The hub schema of this module, index ``hub_id`` = ``osm-<n|w|r><id>``;
        ``type`` ``fablab``, ``makerspace`` or ``hackerspace`` (see above);
        ``city`` / ``country`` from ``addr:city`` / ``addr:country`` (else "");
        ``training_places_n`` <NA>; ``location_precision`` ``osm_point``;
        ``source`` ``"OpenStreetMap"``; ``source_url`` the object's
        openstreetmap.org page. Areas are reduced to a point inside them.
        In a metric CRS (the file's, or its UTM zone).
    LayerReport
        Layer ``hubs``, source the file.
    """
    from productivecity.sources.osm import read_osm_file

    path = Path(path)
    report = LayerReport("hubs", sources=[str(path)])
    report.credit(OSM_CREDIT, source=path)
    parts = [read_osm_file(path, geometry=g, tags=OSM_HUB_TAGS)
             for g in ("points", "multipolygons")]
    parts = [p for p in parts if len(p)]
    report.read_n = sum(len(p) for p in parts)
    if not parts:
        report.notes.append(f"no hackerspace, makerspace or fablab tags in {path.name}")
        empty = gpd.GeoDataFrame({c: pd.Series(dtype="Int64" if c == "training_places_n"
                                               else object) for c in HUB_COLUMNS},
                                 geometry=gpd.GeoSeries([], crs="EPSG:4326"))
        empty.index = pd.Index([], name="hub_id", dtype=object)
        return empty, report
    crs = metric_crs_of(parts[0], what=str(path))
    osm = gpd.GeoDataFrame(pd.concat([to_crs(p, crs, what=str(path)) for p in parts],
                                     ignore_index=True), crs=crs)
    osm, geoms = _as_points(osm, report, missing="no geometry",
                            reduced="hubs drawn as areas reduced to a point inside them")
    element = osm["osm_element"].astype(str)
    letter = element.map({"node": "n", "way": "w", "relation": "r"}).fillna("x")
    ids = "osm-" + letter + osm["osm_id"].astype(str)

    def text(key: str) -> np.ndarray:
        col = osm[key] if key in osm.columns else pd.Series(None, index=osm.index, dtype=object)
        return col.fillna("").astype(str).str.strip().to_numpy(dtype=object)

    out = gpd.GeoDataFrame(
        {
            "name": text("name"),
            "city": text("addr:city"),
            "municipality_nis5": "",
            "country": pd.Series(text("addr:country"), index=osm.index).str.upper().to_numpy(),
            "type": [_osm_hub_type(row) for _, row in osm.iterrows()],
            "training_places_n": pd.array([pd.NA] * len(osm), dtype="Int64"),
            "location_precision": "osm_point",
            "source": OSM_SOURCE,
            "source_url": ("https://www.openstreetmap.org/" + element + "/"
                           + osm["osm_id"].astype(str)).to_numpy(dtype=object),
        },
        geometry=np.asarray(geoms.values), crs=crs,
        index=pd.Index(ids.to_numpy(dtype=object), name="hub_id"),
    )
    dup = out.index.duplicated(keep="first")
    report.skip("repeated hub id (first kept)", int(dup.sum()))
    out = out.loc[~dup]
    report.features_n = len(out)
    return out, report


def _as_points(gdf: gpd.GeoDataFrame, report: LayerReport, *, missing: str, reduced: str):
    """Drop rows without geometry (counted); return them and their points (areas: inside)."""
    empty = (gdf.geometry.isna() | gdf.geometry.is_empty).to_numpy()
    report.skip(missing, int(empty.sum()))
    gdf = gdf.loc[~empty]
    not_point = (gdf.geom_type != "Point").to_numpy()
    if not_point.any():
        report.notes.append(f"{int(not_point.sum())} {reduced}")
    return gdf, gdf.geometry.where(~not_point, gdf.geometry.representative_point())


def _same_hub(user: gpd.GeoDataFrame, cat: gpd.GeoDataFrame) -> list[str]:
    """Catalogue ids of hubs that a user hub repeats (same normalised name, close by)."""
    if user.empty or cat.empty:
        return []
    key_u = user["name"].map(_norm_name)
    dup = []
    for hid, row in cat.iterrows():
        same = key_u == _norm_name(row["name"])
        if same.any():
            d = user.loc[same.to_numpy()].geometry.distance(row.geometry)
            if (d <= DUPLICATE_DISTANCE_M).any():
                dup.append(hid)
    return dup


def _norm_name(name: str) -> str:
    s = unicodedata.normalize("NFKD", str(name)).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "", s.lower())


def _unique_slugs(names: pd.Series) -> pd.Series:
    seen: dict[str, int] = {}
    out = []
    for n in names:
        s = unicodedata.normalize("NFKD", n).encode("ascii", "ignore").decode()
        s = re.sub(r"[^a-z0-9]+", "-", s.lower()).strip("-") or "hub"
        seen[s] = seen.get(s, 0) + 1
        out.append(s if seen[s] == 1 else f"{s}-{seen[s]}")
    return pd.Series(out, index=names.index)


def _int_column(values: pd.Series, *, what: str):
    """Parse a count column: blanks → <NA>; non-numbers raise SchemaError."""
    s = values.fillna("").astype(str).str.strip()
    num = pd.to_numeric(s.where(s != ""), errors="coerce")
    bad = num.isna() & (s != "")
    if bad.any():
        raise SchemaError(f"{what}: expected whole numbers of training places, got "
                          f"{s[bad].head(3).tolist()}")
    return pd.array(num.round().to_numpy(), dtype="Int64")
