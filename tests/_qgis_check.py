"""Open a QGIS project with QGIS itself, check its layers and render its map (a test helper).

Run by tests/test_qgis.py with Debian's system Python, which has QGIS's bindings::

    QT_QPA_PLATFORM=offscreen /usr/bin/python3 tests/_qgis_check.py PROJECT.qgz OUT.png

Prints one JSON object: the project CRS, every layer (id, source, valid, feature count,
renderer type, labels on, visible) in the layer tree's order, and the size of the PNG.
"""

import json
import sys


def main(project_path: str, png_path: str) -> int:
    from qgis.core import (
        QgsApplication,
        QgsMapRendererSequentialJob,
        QgsMapSettings,
        QgsProject,
    )
    from qgis.PyQt.QtCore import QSize
    from qgis.PyQt.QtGui import QColor

    app = QgsApplication([], False)
    app.initQgis()
    try:
        project = QgsProject.instance()
        ok = project.read(project_path)
        root = project.layerTreeRoot()
        layers = []
        for node in root.findLayers():
            layer = node.layer()
            entry = {"id": node.layerId(), "name": node.name(), "visible": node.isVisible(),
                     "loaded": layer is not None}
            if layer is not None:
                renderer = layer.renderer() if hasattr(layer, "renderer") else None
                entry.update(
                    valid=layer.isValid(), source=layer.source(),
                    features=int(layer.featureCount()), spatial=layer.isSpatial(),
                    renderer=renderer.type() if renderer is not None else None,
                    labels=bool(layer.labelsEnabled()),
                    crs=layer.crs().authid() if layer.isSpatial() else "")
            layers.append(entry)
        visible = [n.layer() for n in root.findLayers() if n.isVisible() and n.layer()]
        settings = QgsMapSettings()
        settings.setLayers(visible)  # top of the tree first, as QGIS draws it
        settings.setDestinationCrs(project.crs())
        settings.setBackgroundColor(QColor(255, 255, 255))
        settings.setOutputSize(QSize(1000, 1000))
        settings.setOutputDpi(96)
        extent = project.viewSettings().defaultViewExtent()
        settings.setExtent(extent if not extent.isEmpty() else
                           visible[0].extent())
        job = QgsMapRendererSequentialJob(settings)
        job.start()
        job.waitForFinished()
        image = job.renderedImage()
        saved = image.save(png_path, "PNG")
        print(json.dumps({"read": ok, "crs": project.crs().authid(),
                          "absolute_paths": project.readBoolEntry("Paths", "/Absolute")[0],
                          "layers": layers, "png_saved": saved,
                          "errors": [str(e) for e in job.errors()]}))
    finally:
        QgsProject.instance().clear()
        app.exitQgis()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
