"""A loopback HTTP server for the online tests (Nominatim and Overpass stand-ins)."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import shapely


class JSONHandler(BaseHTTPRequestHandler):
    """A request handler that answers JSON and keeps the test output clean."""

    def send_json(self, obj, status: int = 200) -> None:
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@contextlib.contextmanager
def serve(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """Serve ``handler`` on 127.0.0.1 in a thread; yield the base URL ("http://.../")."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


class NominatimHandler(JSONHandler):
    """A Nominatim stand-in: records each search and answers the boundary of :meth:`place`."""

    requests: list[dict] = []

    def place(self, query: str):
        """Return the boundary (shapely polygon) of ``query``, or None: nothing found."""
        raise NotImplementedError

    def do_GET(self):  # noqa: N802 (http.server API)
        url = urlparse(self.path)
        params = {k: v[0] for k, v in parse_qs(url.query).items()}
        type(self).requests.append({"path": url.path, **params})
        geom = self.place(params.get("q", ""))
        result = []
        if geom is not None:
            minx, miny, maxx, maxy = geom.bounds
            result = [{
                "place_id": 1, "osm_type": "relation", "osm_id": 123,
                "lat": str(geom.centroid.y), "lon": str(geom.centroid.x),
                "display_name": params.get("q", "?"), "class": "boundary",
                "type": "administrative", "importance": 0.8,
                "boundingbox": [str(miny), str(maxy), str(minx), str(maxx)],
                "geojson": shapely.geometry.mapping(geom),
            }]
        self.send_json(result)
