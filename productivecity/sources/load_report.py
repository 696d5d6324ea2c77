"""What happened to the features of each layer: counts, never silent drops.

Every loader returns, next to its GeoDataFrame, a :class:`LayerReport` that
counts what was read, repaired, merged, clipped away or skipped and why, and
the sources used. The CLI prints the reports as a summary table.
"""

from __future__ import annotations

import dataclasses
import logging
import warnings

import pandas as pd

from productivecity._errors import DataQualityWarning

logger = logging.getLogger(__name__)

#: Skip reasons that mean the input itself is defective (a record that should have been
#: usable is not), as opposed to records left out by design (other kinds, aggregate rows,
#: outside the area). :meth:`LayerReport.warn` warns about these and about repairs.
DEFECT_REASONS = frozenset({
    "no coordinates",
    "no geometry",
    "no usable geometry",
    "empty geometry",
    "no code",
    "duplicate code (first kept)",
    "duplicate stop id (first kept)",
    "repeated hub id (first kept)",
    "not a polygon or point (e.g. lines, multipoints)",
})


@dataclasses.dataclass
class LayerReport:
    """Counts for one layer.

    Attributes
    ----------
    layer : str
        Layer name (``industrial_zones``, ``canal``, ...).
    sources : list of str
        Files or URLs the features came from.
    read_n : int
        Raw records read (tile fragments count one each).
    features_n : int
        Features in the returned layer.
    repaired_n : int
        Invalid geometries repaired with ``make_valid``.
    merged_fragments_n : int
        Tile fragments merged into whole objects.
    outside_area_n : int
        Features outside the study area, left out.
    skipped : dict of str to int
        Other records left out, by reason (e.g. ``"no coordinates"``).
    notes : list of str
        Free-text remarks (missing inputs, caveats).
    """

    layer: str
    sources: list[str] = dataclasses.field(default_factory=list)
    read_n: int = 0
    features_n: int = 0
    repaired_n: int = 0
    merged_fragments_n: int = 0
    outside_area_n: int = 0
    skipped: dict[str, int] = dataclasses.field(default_factory=dict)
    notes: list[str] = dataclasses.field(default_factory=list)

    def skip(self, reason: str, n: int) -> None:
        """Count ``n`` records left out for ``reason`` (no-op for ``n == 0``)."""
        if n:
            self.skipped[reason] = self.skipped.get(reason, 0) + int(n)

    def log(self) -> None:
        """Log the counts at INFO, and a warning for anything left out or repaired."""
        logger.info(
            "%s: %d features from %d records (%s)",
            self.layer, self.features_n, self.read_n, ", ".join(self.sources) or "no source",
        )
        if self.repaired_n:
            logger.warning("%s: repaired %d invalid geometries", self.layer, self.repaired_n)
        if self.outside_area_n:
            logger.info("%s: %d features outside the study area left out", self.layer,
                        self.outside_area_n)
        for reason, n in self.skipped.items():
            logger.warning("%s: skipped %d records: %s", self.layer, n, reason)
        for note in self.notes:
            logger.info("%s: %s", self.layer, note)

    def defects(self) -> list[str]:
        """Return what was wrong with the input: repaired geometries and defective records."""
        out = []
        if self.repaired_n:
            out.append(f"{self.repaired_n} invalid geometr{'y' if self.repaired_n == 1 else 'ies'}"
                       f" repaired")
        out += [f"{n} record(s) skipped: {reason}" for reason, n in self.skipped.items()
                if reason in DEFECT_REASONS and n]
        return out

    def warn(self, *, stacklevel: int = 1) -> None:
        """Warn :class:`~productivecity.DataQualityWarning` if the input had defects.

        Repaired geometries and records skipped for a defect (:data:`DEFECT_REASONS`:
        no coordinates, no geometry, a duplicate id, ...) are counted in the message;
        records left out by design are not warned about. ``stacklevel`` counts as in
        :func:`warnings.warn`, from the caller of this method.
        """
        defects = self.defects()
        if defects:
            sources = f" ({', '.join(self.sources)})" if self.sources else ""
            warnings.warn(f"{self.layer}{sources}: " + "; ".join(defects)
                          + "; see the layer report", DataQualityWarning,
                          stacklevel=stacklevel + 1)

    def as_dict(self) -> dict:
        """Return a flat dict (skipped reasons joined into one string)."""
        d = dataclasses.asdict(self)
        d["sources"] = "; ".join(self.sources)
        d["skipped"] = "; ".join(f"{k}: {v}" for k, v in self.skipped.items())
        d["notes"] = "; ".join(self.notes)
        return d


def reports_frame(reports: list[LayerReport]) -> pd.DataFrame:
    """Return the reports as one DataFrame indexed by layer."""
    return pd.DataFrame([r.as_dict() for r in reports]).set_index("layer")
