"""One pipeline, one command: from a run configuration to every output.

:func:`run_pipeline` (command line: ``productivecity run CONFIG.toml``) chains
the steps of the package on one study area:

=============  =====================================================================
``layers``     :func:`productivecity.layers.load_layers`
``sites``      :func:`~productivecity.sites.grid_sites`, :func:`~productivecity.sites.
               zone_sites` or :func:`~productivecity.sites.read_sites`
``indicators`` :func:`productivecity.indicators.table.site_indicators`
``ranking``    :func:`productivecity.siting.ranking.rank_sites` (score, Monte-Carlo and
               one-at-a-time weight sensitivity)
``allocation`` :func:`productivecity.siting.allocation.coverage_curve` for k = 0..K on the
               street network (:func:`~productivecity.siting.travel_times.network_travel_times`)
``isochrones`` :func:`productivecity.accessibility.isochrone_polygons.isochrones` of the top sites
``outputs``    atlas PDF, PNG maps, HTML web map, GeoPackage, GeoParquet, GeoTIFF,
               CSV, HTML report (writers of :mod:`~productivecity.export`,
               :mod:`~productivecity.maps`, :mod:`~productivecity.webmap`) and
               ``manifest.json``
=============  =====================================================================

Configuration
-------------
A TOML file (see ``productivecity/data/scenarios/sample.toml``) with the sections of
:data:`SCHEMA` plus ``[criteria]`` (either ``file = "criteria.toml"`` or the
criteria tables inline, as :func:`~productivecity.siting.criteria.criteria_from_dict`
takes them). Relative paths resolve against the folder of the configuration
file. :func:`load_config` checks everything at once: unknown sections or keys,
wrong types and bad values are reported together in one :class:`ConfigError`.

Caching
-------
Every computing step stores its result in ``<root>/<step>/<key>/``, where ``root``
is ``[run] cache_dir`` or else ``<Settings.cache_dir>/pipeline``
(``PRODUCTIVECITY_CACHE_DIR``) and ``key`` hashes exactly what the step depends
on: the package's code, the input files it reads (sha256 of each), the
configuration keys it uses and the key of the step before it. A rerun with
other weights reuses the layers, sites and indicators and redoes the ranking;
the allocation is keyed by the set of eligible candidates, not their scores, so
it is only redone when the exclusions change. Entries are written to a
temporary folder and renamed when complete, so an interrupted run leaves no
half entry and the next run resumes from the last finished step. Street
networks are cached on their own by :mod:`productivecity.network`.

Outputs
-------
Everything is written into a temporary sibling of the output folder, which is
renamed into place at the end: an interrupted run leaves no output folder. An
output folder that exists and is not empty is refused unless
``overwrite=True``; even then only a folder holding a ``manifest.json`` of an
earlier run is replaced. The outputs are deterministic: the same inputs and
configuration give the same image bytes and attribute tables; only the
``run`` section of the manifest (timings, cached steps) varies.
"""

from productivecity.workflow.config import (
    FORMATS,
    OUTPUT_FILES,
    SCHEMA,
    STEPS,
    Option,
    PipelineConfig,
    config_from_dict,
    load_config,
)
from productivecity.workflow.manifest import (
    data_files,
)
from productivecity.workflow.outdir import (
    check_output_dir,
)
from productivecity.workflow.run import (
    RunResult,
    run_pipeline,
)

__all__ = [
    "FORMATS",
    "OUTPUT_FILES",
    "Option",
    "PipelineConfig",
    "RunResult",
    "SCHEMA",
    "STEPS",
    "check_output_dir",
    "config_from_dict",
    "data_files",
    "load_config",
    "run_pipeline",
]
