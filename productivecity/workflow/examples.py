"""Scenario and criteria files shipped with the package, and editable copies of them.

The package ships documented scenario configurations (``productivecity/data/scenarios/``)
and criteria files (``productivecity/data/criteria/``) as package data, so they are
there in an installed wheel as well as in a clone:

* :func:`example_path` gives the path of a shipped file by name;
* :func:`resolve_config_path` turns the argument of ``productivecity run`` (a file, or
  the name of a shipped scenario such as ``sample``) into a path;
* :func:`write_examples` (command line: ``productivecity init DIR``) writes an
  editable copy of a shipped scenario and its criteria file into a folder, with every
  relative path rewritten so that it resolves against that folder.
"""

from __future__ import annotations

import importlib.resources
import logging
import os
import re
import tomllib
from pathlib import Path

from productivecity._errors import DataSourceError, OutputExistsError
from productivecity.io import atomic_path

logger = logging.getLogger(__name__)

#: Sub-folders of ``productivecity/data`` holding the shipped files, by kind.
KINDS = {"scenario": "scenarios", "criteria": "criteria"}

# (section, key) of every path-valued option of a scenario file
_PATH_KEYS = {
    ("run", "out_dir"),
    ("run", "cache_dir"),
    ("area", "file"),
    ("area", "data_dir"),
    ("area", "hubs"),
    ("sites", "path"),
    ("criteria", "file"),
}
_SECTION_RE = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_STRING_RE = re.compile(r'^(?P<indent>\s*)(?P<key>[A-Za-z0-9_-]+)(?P<eq>\s*=\s*)"(?P<value>[^"]*)"'
                        r"(?P<rest>.*)$")


def _folder(kind: str) -> Path:
    try:
        sub = KINDS[kind]
    except KeyError:
        raise ValueError(f"kind must be one of {sorted(KINDS)}, got {kind!r}") from None
    folder = importlib.resources.files("productivecity") / "data" / sub
    if not isinstance(folder, Path):  # a zipped install: the files have no path of their own
        raise DataSourceError(f"the shipped {kind} files are not on the file system ({folder}); "
                              "install productivecity unzipped (pip does so by default)")
    return folder


def _names(kind: str) -> list[str]:
    return sorted(p.stem for p in _folder(kind).glob("*.toml"))


def scenario_names() -> list[str]:
    """Names of the scenarios shipped with the package.

    Examples
    --------
    >>> from productivecity.workflow.examples import scenario_names
    >>> scenario_names()
    ['brussels-vilvoorde', 'brussels-vilvoorde-citywide', 'brussels-vilvoorde-neighbourhood',
     'brussels-vilvoorde-people', 'brussels-vilvoorde-reuse', 'sample']
    """
    return _names("scenario")


def criteria_names() -> list[str]:
    """Names of the criteria files shipped with the package.

    Examples
    --------
    >>> from productivecity.workflow.examples import criteria_names
    >>> criteria_names()
    ['brussels-canal', 'canal-making', 'city-wide', 'industrial-reuse', 'neighbourhood']
    """
    return _names("criteria")


def example_path(name: str, *, kind: str | None = None) -> Path:
    """Path of a scenario or criteria file shipped with the package.

    Parameters
    ----------
    name : str
        File name with or without ``.toml``: a scenario (``"sample"``,
        ``"brussels-vilvoorde"``, ...) or a criteria file (``"brussels-canal"``).
    kind : {"scenario", "criteria"}, optional
        Where to look; by default scenarios first, then criteria files.

    Returns
    -------
    Path
        The file inside the installed package (read it; do not edit it: copy it
        with :func:`write_examples` instead).

    Raises
    ------
    DataSourceError
        No shipped file has that name; the message lists the shipped names.

    Examples
    --------
    >>> from productivecity.workflow.examples import example_path
    >>> example_path("sample").relative_to(example_path("sample").parents[2]).as_posix()
    'data/scenarios/sample.toml'
    >>> example_path("brussels-canal.toml").name
    'brussels-canal.toml'
    """
    stem = str(name).removesuffix(".toml")
    kinds = [kind] if kind is not None else list(KINDS)
    for k in kinds:
        path = _folder(k) / f"{stem}.toml"
        if stem and "/" not in stem and "\\" not in stem and path.is_file():
            return path
    shipped = "; ".join(f"{k} files: {', '.join(_names(k))}" for k in kinds)
    raise DataSourceError(f"no shipped file named {name!r} ({shipped})")


def resolve_config_path(arg: str | os.PathLike) -> Path:
    """Return the scenario file meant by ``productivecity run ARG``.

    Parameters
    ----------
    arg : str or path-like
        A scenario file (used if it exists), else the name of a scenario shipped
        with the package (``"sample"``, with or without ``.toml``).

    Returns
    -------
    Path

    Raises
    ------
    DataSourceError
        ``arg`` is neither an existing file nor a shipped scenario; the message lists
        the shipped scenarios.

    Examples
    --------
    >>> from productivecity.workflow.examples import resolve_config_path
    >>> resolve_config_path("sample").name
    'sample.toml'
    >>> resolve_config_path("no-such-scenario")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    productivecity._errors.DataSourceError: no scenario file 'no-such-scenario' ...
    """
    path = Path(arg).expanduser()
    if path.is_file():
        return path
    if path.is_dir():
        raise DataSourceError(f"{str(arg)!r} is a folder, not a scenario file (.toml)")
    names = scenario_names()
    stem = str(arg).removesuffix(".toml")
    if stem in names:
        return example_path(stem, kind="scenario")
    raise DataSourceError(
        f"no scenario file {str(arg)!r} (relative to {Path.cwd()}) and no shipped scenario of "
        f"that name; shipped scenarios: {', '.join(names)} (an editable copy: productivecity "
        f"init DIR --scenario NAME)")


def write_examples(
    dir: str | os.PathLike,
    *,
    scenario: str = "sample",
    overwrite: bool = False,
) -> list[Path]:
    """Write an editable copy of a shipped scenario and its criteria file into a folder.

    The copies keep every comment of the shipped files (they document each key).
    The scenario's ``[criteria] file`` is rewritten to the copied criteria file next
    to it; other relative paths (``[area] data_dir``, ...) are rewritten to resolve
    against ``dir``, or commented out when they point to nothing (then give
    ``--data-dir`` on the command line).

    Parameters
    ----------
    dir : path-like
        Folder to write into; created if missing.
    scenario : str
        Name of a shipped scenario (see :func:`scenario_names`).
    overwrite : bool
        Replace files of the same names in ``dir``.

    Returns
    -------
    list of Path
        The scenario file first, then its criteria file (none when the scenario
        gives its criteria inline).

    Raises
    ------
    OutputExistsError
        A file to write exists and ``overwrite`` is False; nothing is written.
    DataSourceError
        ``scenario`` is not a shipped scenario.

    Examples
    --------
    >>> import tempfile
    >>> from productivecity.workflow.examples import write_examples
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     [p.name for p in write_examples(tmp, scenario="sample")]
    ['sample.toml', 'brussels-canal.toml']
    """
    source = example_path(scenario, kind="scenario")
    out = Path(dir).expanduser()
    text = source.read_text(encoding="utf-8")
    data = tomllib.loads(text)
    files: dict[Path, str] = {}
    crit_file = data.get("criteria", {}).get("file")
    crit_target = None
    if isinstance(crit_file, str):
        crit_source = (source.parent / crit_file).resolve()
        if not crit_source.is_file():
            raise DataSourceError(f"{source}: criteria file {crit_file!r} is missing from the "
                                  f"package ({crit_source})")
        crit_target = out / crit_source.name
    scenario_target = out / source.name
    if crit_target == scenario_target:
        raise DataSourceError(f"{source}: the criteria file has the scenario's own name")
    files[scenario_target] = _rewrite(text, source=source, out=out, scenario=source.stem,
                                      criteria_name=crit_target.name if crit_target else None)
    if crit_target is not None:
        files[crit_target] = crit_source.read_text(encoding="utf-8")
    existing = [p for p in files if p.exists()]
    if existing and not overwrite:
        raise OutputExistsError(
            f"{', '.join(str(p) for p in existing)} exist(s); pass overwrite=True "
            f"(--overwrite) to replace, or choose another folder")
    out.mkdir(parents=True, exist_ok=True)
    for path, content in files.items():
        _write_atomic(path, content)
        logger.info("wrote %s", path)
    return list(files)


def _rewrite(text: str, *, source: Path, out: Path, scenario: str,
             criteria_name: str | None) -> str:
    """Return the scenario text with its relative paths resolving against ``out``."""
    lines = []
    section = ""
    for line in text.splitlines():
        m = _SECTION_RE.match(line)
        if m:
            section = m.group(1)
            lines.append(line)
            continue
        m = _STRING_RE.match(line)
        if m and (section, m["key"]) in _PATH_KEYS and not Path(m["value"]).is_absolute():
            value = m["value"]
            if (section, m["key"]) == ("criteria", "file") and criteria_name is not None:
                lines.append(f'{m["indent"]}{m["key"]}{m["eq"]}"{criteria_name}"{m["rest"]}')
                continue
            target = (source.parent / value).resolve()
            if target.exists():
                try:
                    new = Path(os.path.relpath(target, out.resolve())).as_posix()
                except ValueError:  # another drive (Windows)
                    new = target.as_posix()
                lines.append(f'{m["indent"]}{m["key"]}{m["eq"]}"{new}"{m["rest"]}')
            else:
                lines.append(f'{m["indent"]}# {m["key"]} = "path/to/folder"  # set this, or '
                             f'pass it on the command line (was {value!r} in the shipped file)')
            continue
        lines.append(line)
    header = [
        f"# Written by `productivecity init` from the scenario {scenario!r} shipped with "
        f"productivecity.",
        "# Edit it, then run:  productivecity run <this file>",
        "# Relative paths in this file resolve against its folder.",
        "#",
    ]
    return "\n".join(header + lines) + "\n"


def _write_atomic(path: Path, content: str) -> None:
    with atomic_path(path, overwrite=True) as tmp:
        tmp.write_text(content, encoding="utf-8", newline="\n")
