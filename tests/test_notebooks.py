"""The notebooks in notebooks/ run top to bottom without errors or warnings.

Each notebook is executed with nbclient in a fresh ``python3`` kernel. The kernel is
pinned to the interpreter running the tests: the test writes a ``python3`` kernelspec
whose command is ``sys.executable -m ipykernel_launcher`` into a temporary folder and
puts that folder first on ``JUPYTER_PATH``, so a fresh CI machine where only
``pip install -e ".[dev]"`` ran needs no ``ipykernel install`` step, and a stray
``python3`` kernel of another environment is never used.

The notebooks read their data folder from ``PRODUCTIVECITY_NOTEBOOK_DATA``: the unit
runs use the synthetic sample (fast); the quickstart also runs once on the real test
bed (integration).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from ipykernel.kernelspec import write_kernel_spec
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

REPO_ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK_DIR = REPO_ROOT / "notebooks"
NOTEBOOKS = ["01_quickstart.ipynb", "02_accessibility.ipynb", "03_siting_scenarios.ipynb"]
KERNEL_NAME = "python3"
CELL_TIMEOUT_S = 300
# a Python warning printed by the kernel: "<file>:<line>: SomeWarning: message"
WARNING_RE = re.compile(r"\b\w*Warning: ")


@pytest.fixture(scope="module")
def kernel_dir(tmp_path_factory) -> Path:
    """A Jupyter data folder whose ``python3`` kernel runs this very interpreter."""
    root = tmp_path_factory.mktemp("jupyter")
    spec_dir = Path(write_kernel_spec(root / "kernels" / KERNEL_NAME))
    spec = json.loads((spec_dir / "kernel.json").read_text())
    assert spec["argv"][0] == sys.executable
    return root


@pytest.fixture
def jupyter_env(kernel_dir, monkeypatch):
    """Put the pinned kernelspec first on JUPYTER_PATH (the kernel inherits os.environ)."""
    monkeypatch.setenv("JUPYTER_PATH", str(kernel_dir))
    return kernel_dir


def execute(name: str) -> nbformat.NotebookNode:
    """Execute a notebook from notebooks/ (working folder notebooks/); return it with outputs.

    Fails the test with the cell and its traceback on any error, and on any Python
    warning or stderr traceback in the outputs.
    """
    nb = nbformat.read(NOTEBOOK_DIR / name, as_version=4)
    client = NotebookClient(nb, kernel_name=KERNEL_NAME, timeout=CELL_TIMEOUT_S,
                            resources={"metadata": {"path": str(NOTEBOOK_DIR)}})
    try:
        client.execute()
    except CellExecutionError as exc:
        pytest.fail(f"{name} failed:\n{exc}", pytrace=False)
    problems = []
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            text = out.get("text", "") if out.get("output_type") == "stream" else ""
            if WARNING_RE.search(text) or "Traceback" in text:
                problems.append(f"cell {i}: {text.strip()[:500]}")
    assert not problems, f"{name} printed warnings:\n" + "\n".join(problems)
    return nb


def printed(nb: nbformat.NotebookNode) -> str:
    """All text the notebook printed (stdout and stderr streams)."""
    return "\n".join(out.get("text", "") for cell in nb.cells for out in cell.get("outputs", [])
                     if out.get("output_type") == "stream")


def images(nb: nbformat.NotebookNode) -> int:
    """Number of PNG figures in the outputs."""
    return sum("image/png" in out.get("data", {}) for cell in nb.cells
               for out in cell.get("outputs", []))


def test_notebooks_are_generated_without_outputs():
    """The committed notebooks are exactly what scripts/make_notebooks.py writes."""
    proc = subprocess.run([sys.executable, str(REPO_ROOT / "scripts" / "make_notebooks.py"),
                           "--check"], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    for name in NOTEBOOKS:
        nb = nbformat.read(NOTEBOOK_DIR / name, as_version=4)
        assert nb.metadata["kernelspec"]["name"] == KERNEL_NAME
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None
        assert sum("parameters" in c.metadata.get("tags", []) for c in nb.cells) == 1


@pytest.mark.slow
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_on_the_sample(name, jupyter_env, monkeypatch):
    monkeypatch.setenv("PRODUCTIVECITY_NOTEBOOK_DATA", "sample")
    nb = execute(name)
    text = printed(nb)
    assert "SYNTHETIC sample" in text
    assert images(nb) >= 2  # the figures were drawn


@pytest.mark.slow
def test_notebook_falls_back_to_the_sample_when_the_folder_is_missing(jupyter_env, tmp_path,
                                                                     monkeypatch):
    missing = tmp_path / "no-such-testbed"
    monkeypatch.delenv("PRODUCTIVECITY_NOTEBOOK_DATA", raising=False)
    monkeypatch.setenv("PRODUCTIVECITY_TESTBED", str(missing))
    # only the data cells: the fallback is decided before any heavy step
    nb = nbformat.read(NOTEBOOK_DIR / "01_quickstart.ipynb", as_version=4)
    pos = next(i for i, c in enumerate(nb.cells) if "sample_data_dir" in c.source)
    nb.cells = nb.cells[:pos + 1]
    nb.cells.append(nbformat.v4.new_code_cell(
        "print('AREA =', AREA, '| data_dir =', data_dir.name)", id="check"))
    NotebookClient(nb, kernel_name=KERNEL_NAME, timeout=CELL_TIMEOUT_S,
                   resources={"metadata": {"path": str(NOTEBOOK_DIR)}}).execute()
    text = printed(nb)
    assert f"No data directory at {missing}" in text
    assert "SYNTHETIC sample" in text
    assert "AREA = sample | data_dir = sample" in text


@pytest.mark.integration
@pytest.mark.slow
def test_quickstart_on_the_testbed(testbed, jupyter_env, monkeypatch):
    monkeypatch.setenv("PRODUCTIVECITY_NOTEBOOK_DATA", str(testbed))
    nb = execute("01_quickstart.ipynb")  # as shipped: 250 m sites in the canal zone, ~1 min
    text = printed(nb)
    assert f"Using the data in {testbed.resolve()} (study area: brussels-vilvoorde)" in text
    assert "SYNTHETIC" not in text
    assert images(nb) >= 3
