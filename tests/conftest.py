"""Shared fixtures.

``testbed`` is the real-data test bed, located through the environment
variable ``PRODUCTIVECITY_TESTBED`` (default ``../shared/data/brussels-vilvoorde``
next to the repository). Outside CI a missing test bed skips the integration
tests; in CI (``CI=true``) it is a failure.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


def testbed_path() -> Path:
    """Return the configured test-bed folder (it may not exist)."""
    default = REPO_ROOT.parent / "shared" / "data" / "brussels-vilvoorde"
    return Path(os.environ.get("PRODUCTIVECITY_TESTBED", default)).expanduser()


@pytest.fixture(scope="session")
def testbed() -> Path:
    """The real-data test bed folder; skip (or fail in CI) when it is missing."""
    path = testbed_path()
    if not (path / "README.md").is_file():
        msg = (f"real-data test bed not found at {path}; set PRODUCTIVECITY_TESTBED "
               f"to the brussels-vilvoorde folder")
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(msg)
        pytest.skip(msg)
    return path


def karhula_path() -> Path:
    """Return the configured Karhula OSM extract folder (it may not exist)."""
    default = REPO_ROOT.parent / "shared" / "data" / "karhula"
    return Path(os.environ.get("PRODUCTIVECITY_KARHULA", default)).expanduser()


@pytest.fixture(scope="session")
def karhula() -> Path:
    """The real Karhula (Kotka, Finland) OSM extract folder; skip (or fail in CI) when missing."""
    path = karhula_path()
    if not (path / "karhula_kotka_finland.osm.pbf").is_file():
        msg = (f"Karhula OSM extract not found at {path}; set PRODUCTIVECITY_KARHULA "
               f"to the karhula folder")
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(msg)
        pytest.skip(msg)
    return path


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Keep every test's cache out of the user's home and offline by default."""
    monkeypatch.setenv("PRODUCTIVECITY_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "cache"))
    monkeypatch.setenv("PRODUCTIVECITY_OFFLINE", "1")


#: The system Chromium of the browser tests (web map, weights page).
CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="session")
def chromium() -> Path:
    """System Chromium (installed by .ci/run); missing is a failure in CI, a skip elsewhere."""
    if not (CHROMIUM.exists() and os.access(CHROMIUM, os.X_OK)):
        msg = "Chromium not found at /usr/bin/chromium (apt-get install chromium)"
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(msg)
        pytest.skip(msg)
    return CHROMIUM
