"""Package settings: cache folder, online endpoints.

Settings are an immutable, validated object. Functions that go online or use
the cache take ``settings=None`` and fall back to :func:`get_settings`, which
reads environment variables once per call (no module-level mutable state)::

    PRODUCTIVECITY_CACHE_DIR   cache folder (default: ~/.cache/productivecity)
    PRODUCTIVECITY_CACHE_MAX_MB   size cap of the step cache in MB (default 2048)
    PRODUCTIVECITY_OFFLINE     "1" forbids any network access
    PRODUCTIVECITY_OVERPASS_URL, PRODUCTIVECITY_NOMINATIM_URL   endpoints
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from productivecity._errors import ConfigError, ParameterTypeError


@dataclasses.dataclass(frozen=True)
class Settings:
    """Validated, immutable options.

    Parameters
    ----------
    cache_dir : Path
        Folder for downloads and built networks.
    offline : bool
        If True, never touch the network; only local files and the cache serve.
    overpass_url : str
        Overpass API interpreter endpoint used by osmnx.
    nominatim_url : str
        Nominatim endpoint used by osmnx for place names.
    timeout_s : float
        Network timeout in seconds.
    user_agent : str
        HTTP User-Agent for downloads.
    cache_max_mb : float
        Size cap of the pipeline's step cache in MB; least recently used entries
        are removed beyond it.

    Examples
    --------
    >>> import productivecity as pc
    >>> s = pc.Settings(offline=True)
    >>> s.offline, s.replace(timeout_s=10.0).timeout_s
    (True, 10.0)
    """

    cache_dir: Path = dataclasses.field(
        default_factory=lambda: Path.home() / ".cache" / "productivecity"
    )
    offline: bool = False
    overpass_url: str = "https://overpass-api.de/api"
    nominatim_url: str = "https://nominatim.openstreetmap.org/"
    timeout_s: float = 60.0
    user_agent: str = "productivecity (https://github.com/productivecity/productivecity)"
    cache_max_mb: float = 2048.0

    def __post_init__(self):
        object.__setattr__(self, "cache_dir", Path(self.cache_dir).expanduser())
        if not isinstance(self.offline, bool):
            raise ParameterTypeError(f"Settings.offline must be a bool, got {self.offline!r}")
        if not (isinstance(self.timeout_s, int | float) and self.timeout_s > 0):
            raise ConfigError(
                f"Settings.timeout_s must be a positive number, got {self.timeout_s!r}"
            )
        if (isinstance(self.cache_max_mb, bool) or not isinstance(self.cache_max_mb, int | float)
                or not 0 <= self.cache_max_mb < float("inf")):
            raise ConfigError(
                f"Settings.cache_max_mb must be a number of MB >= 0, got {self.cache_max_mb!r}"
            )

    def replace(self, **changes) -> Settings:
        """Return a copy with some fields changed (unknown names raise ``TypeError``)."""
        known = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise ParameterTypeError(f"unknown setting(s) {unknown}; known settings are "
                                     f"{sorted(known)}")
        return dataclasses.replace(self, **changes)


def get_settings(**overrides) -> Settings:
    """Build settings from defaults, environment variables and ``overrides``.

    Examples
    --------
    >>> import productivecity as pc
    >>> pc.get_settings(offline=True, timeout_s=30.0).timeout_s
    30.0
    """
    env = {}
    if "PRODUCTIVECITY_CACHE_DIR" in os.environ:
        env["cache_dir"] = Path(os.environ["PRODUCTIVECITY_CACHE_DIR"])
    if "PRODUCTIVECITY_OFFLINE" in os.environ:
        env["offline"] = os.environ["PRODUCTIVECITY_OFFLINE"].strip().lower() in {
            "1",
            "true",
            "yes",
        }
    if "PRODUCTIVECITY_CACHE_MAX_MB" in os.environ:
        text = os.environ["PRODUCTIVECITY_CACHE_MAX_MB"]
        try:
            env["cache_max_mb"] = float(text)
        except ValueError:
            raise ConfigError(
                f"environment variable PRODUCTIVECITY_CACHE_MAX_MB must be a number of MB, "
                f"got {text!r}"
            ) from None
    if "PRODUCTIVECITY_OVERPASS_URL" in os.environ:
        env["overpass_url"] = os.environ["PRODUCTIVECITY_OVERPASS_URL"]
    if "PRODUCTIVECITY_NOMINATIM_URL" in os.environ:
        env["nominatim_url"] = os.environ["PRODUCTIVECITY_NOMINATIM_URL"]
    return Settings().replace(**{**env, **overrides})
