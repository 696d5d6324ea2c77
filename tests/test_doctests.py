"""Run the docstring examples of the package as doctests, one test per module.

Every module of ``productivecity`` whose source holds ``>>>`` is collected
(found from the source text, so modules without examples are not imported).
The examples run on the synthetic sample shipped with the package, offline,
with ``ELLIPSIS`` and ``NORMALIZE_WHITESPACE`` and under the suite's
``filterwarnings = error``.

Each example is self-contained and starts with ``pc.load_layers("sample")``;
to keep the run short, identical calls of :func:`productivecity.load_layers`
are answered from a memo during this module (the first call does the work;
examples never modify the layers they get).
"""

from __future__ import annotations

import doctest
import functools
import importlib
import io
import pkgutil
from pathlib import Path

import pytest

import productivecity
import productivecity.layers

FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def _modules_with_examples() -> list[str]:
    names = []
    for info in pkgutil.walk_packages(productivecity.__path__, "productivecity."):
        spec = importlib.util.find_spec(info.name)
        origin = spec.origin if spec else None
        if origin and origin.endswith(".py") and ">>>" in Path(origin).read_text(encoding="utf-8"):
            names.append(info.name)
    if ">>>" in Path(productivecity.__file__).read_text(encoding="utf-8"):
        names.append("productivecity")
    return sorted(names)


MODULES = _modules_with_examples()


@pytest.fixture(scope="module")
def _memo_load_layers():
    """Answer repeated identical ``load_layers`` calls from a memo while the doctests run."""
    real = productivecity.layers.load_layers
    memo: dict = {}

    @functools.wraps(real)
    def load_layers(*args, **kwargs):
        try:
            key = (args, tuple(sorted(kwargs.items())))
            hash(key)
        except TypeError:
            return real(*args, **kwargs)
        if key not in memo:
            memo[key] = real(*args, **kwargs)
        return memo[key]

    with pytest.MonkeyPatch.context() as mp:
        # the package first: its lazy lookup must resolve (and later restore) the real one
        mp.setattr(productivecity, "load_layers", load_layers, raising=False)
        mp.setattr(productivecity.layers, "load_layers", load_layers)
        yield


def test_examples_are_collected():
    # the modules of the public API's stages are all there
    for name in ("productivecity.layers", "productivecity.network.streets",
                 "productivecity.accessibility.measures", "productivecity.sites",
                 "productivecity.siting.allocation", "productivecity.outputs.maps",
                 "productivecity.workflow.examples"):
        assert name in MODULES


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name, _memo_load_layers):
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    out = io.StringIO()
    tests = [t for t in finder.find(module, name) if t.examples]
    assert tests, f"{name} has '>>>' in its source but no doctest was found"
    for test in sorted(tests, key=lambda t: t.name):
        runner.run(test, out=out.write)
    result = runner.summarize(verbose=False)
    if result.failed:
        pytest.fail(f"{result.failed} of {result.attempted} examples failed in {name}:\n"
                    f"{out.getvalue()}", pytrace=False)
