"""Online study areas (``place:<name>``) against a loopback Nominatim server the test starts."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pyproj
import pytest
import shapely

from productivecity import DataSourceError
from productivecity.area import study_area
from productivecity.settings import get_settings

# a 0.02 x 0.01 degree box near Vilvoorde, as Nominatim returns a boundary
BOX = (4.42, 50.92, 4.44, 50.93)


class _Nominatim(BaseHTTPRequestHandler):
    requests: list[dict] = []

    def do_GET(self):  # noqa: N802 (http.server API)
        url = urlparse(self.path)
        params = {k: v[0] for k, v in parse_qs(url.query).items()}
        type(self).requests.append({"path": url.path, **params})
        minx, miny, maxx, maxy = BOX
        result = [{
            "place_id": 1, "osm_type": "relation", "osm_id": 123, "lat": str((miny + maxy) / 2),
            "lon": str((minx + maxx) / 2), "display_name": params.get("q", "?"),
            "class": "boundary", "type": "administrative", "importance": 0.7,
            "boundingbox": [str(miny), str(maxy), str(minx), str(maxx)],
            "geojson": shapely.geometry.mapping(shapely.box(*BOX)),
        }]
        body = json.dumps(result).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):  # keep the test output clean
        pass


@pytest.fixture()
def nominatim():
    """A Nominatim stand-in on 127.0.0.1 serving one fixed boundary polygon."""
    _Nominatim.requests = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Nominatim)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def test_place_area_is_geocoded_cached_and_projected(nominatim, tmp_path):
    settings = get_settings(offline=False, nominatim_url=nominatim, cache_dir=tmp_path)
    area = study_area("place:Vilvoorde, Belgium", settings=settings)
    assert area.crs.to_epsg() == 32631  # a place, not a preset: its UTM zone
    box = shapely.box(*BOX)
    expected = abs(pyproj.Geod(ellps="WGS84").geometry_area_perimeter(box)[0]) / 1e4
    assert area["area_ha"].iloc[0] == pytest.approx(expected, rel=5e-3)  # true to scale
    assert [r["q"] for r in _Nominatim.requests] == ["Vilvoorde, Belgium"]
    # the second time the cache answers, also offline, without a request
    offline = settings.replace(offline=True)
    again = study_area("place:Vilvoorde, Belgium", settings=offline)
    assert again.geometry.iloc[0].equals_exact(area.geometry.iloc[0], 1e-6)
    assert len(_Nominatim.requests) == 1


def test_place_area_offline_without_cache_says_what_to_do(tmp_path):
    settings = get_settings(offline=True, cache_dir=tmp_path)
    with pytest.raises(DataSourceError, match="offline"):
        study_area("place:Nowhere", settings=settings)
