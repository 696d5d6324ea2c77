"""Online study areas (``place:<name>``) against a loopback Nominatim server the test starts."""

from __future__ import annotations

import pyproj
import pytest
import shapely
from _loopback import NominatimHandler, serve

from productivecity import DataSourceError
from productivecity.area import study_area
from productivecity.settings import get_settings

# a 0.02 x 0.01 degree box near Vilvoorde, as Nominatim returns a boundary
BOX = (4.42, 50.92, 4.44, 50.93)


class _Nominatim(NominatimHandler):
    requests: list[dict] = []

    def place(self, query: str):
        return shapely.box(*BOX)  # whatever the place: the same boundary


@pytest.fixture()
def nominatim():
    """A Nominatim stand-in on 127.0.0.1 serving one fixed boundary polygon."""
    _Nominatim.requests = []
    with serve(_Nominatim) as url:
        yield url


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
