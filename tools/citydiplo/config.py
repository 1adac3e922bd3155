"""Project settings: the repository root and ``conf/citydiplo.toml``.

Paths come from here and nowhere else. The root is given with ``--root`` or
``$CITYDIPLO_ROOT``, or found like git finds a repository: the current
directory or the nearest folder above it that holds ``conf/citydiplo.toml``.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

CONFIG_NAME = Path("conf") / "citydiplo.toml"


class ConfigError(Exception):
    """The project configuration is missing or malformed."""


#: The languages the handbook and the data may be written in ([build] languages),
#: each with its code in the EU Publications Office language authority, which
#: the dataset description (DCAT-AP dcterms:language) uses.
LANGUAGE_CODES = {"en": "ENG", "de": "DEU", "fr": "FRA", "es": "SPA", "ar": "ARA", "it": "ITA", "pt": "POR"}


@dataclass(frozen=True)
class Project:
    root: Path
    name: str
    version: str
    licence: str
    publisher: str
    base_iri: str
    languages: tuple[str, ...]
    stale_after_days: int
    vocab_dir: Path
    handbook_dir: Path
    build_dir: Path

    @property
    def def_ns(self) -> str:
        """Namespace of the ontology terms (prefix ``cd:``)."""
        return self.base_iri + "def/"

    @property
    def id_ns(self) -> str:
        """Namespace of the things described (prefix ``cdi:``)."""
        return self.base_iri + "id/"

    @property
    def ontology_iri(self) -> str:
        return self.base_iri + "def"

    @property
    def conf_dir(self) -> Path:
        return self.root / "conf"

    def settings_bytes(self) -> bytes:
        """The bytes of ``conf/citydiplo.toml`` (empty if it is gone), for the
        digests that decide what a build makes again."""
        path = self.root / CONFIG_NAME
        return path.read_bytes() if path.is_file() else b""

    def rel(self, path: Path) -> str:
        """A path relative to the root, for messages."""
        try:
            return str(Path(path).resolve().relative_to(self.root))
        except ValueError:
            return str(path)


def _is_root(folder: Path) -> bool:
    return (folder / CONFIG_NAME).is_file()


def find_root(explicit: str | os.PathLike | None = None, cwd: str | os.PathLike | None = None) -> Path:
    """Return the repository root, found the way git finds its repository.

    Order: the explicit argument (``--root``), else ``$CITYDIPLO_ROOT``, else
    the current directory and its parents (the first holding
    ``conf/citydiplo.toml``). A root given explicitly or by the environment
    must hold that file: it is an error, never a silent fallback. The
    location of the installed package plays no part.
    """
    for given, how in ((explicit, "--root"), (os.environ.get("CITYDIPLO_ROOT") or None, "$CITYDIPLO_ROOT")):
        if given is None or given == "":
            continue
        folder = Path(given).expanduser()
        if not folder.is_dir():
            raise ConfigError(f"{how} {given}: no such folder")
        if not _is_root(folder):
            raise ConfigError(f"{how} {given}: not a citydiplo project (it has no {CONFIG_NAME})")
        return folder.resolve()
    start = Path(cwd or Path.cwd()).resolve()
    for folder in (start, *start.parents):
        if _is_root(folder):
            return folder
    raise ConfigError(
        f"not inside a citydiplo project: no {CONFIG_NAME} in {start} or any folder above it; "
        "change into the repository, or pass --root DIR (or set CITYDIPLO_ROOT)"
    )


def load_project(root: str | os.PathLike | None = None) -> Project:
    """Read ``conf/citydiplo.toml`` below the repository root."""
    root_path = find_root(root)
    path = root_path / CONFIG_NAME
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{CONFIG_NAME}:1: cannot be read: {exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = getattr(exc, "lineno", None) or _line_of(str(exc))
        raise ConfigError(f"{CONFIG_NAME}:{line}: {exc}") from None

    def need(section: str, key: str, kind: type = str, default=None):
        table = data.get(section, {})
        if not isinstance(table, dict):
            raise ConfigError(f"{CONFIG_NAME}:{_key_line(text, section)}: [{section}] must be a table")
        if key not in table:
            if default is not None:
                return default
            raise ConfigError(
                f"{CONFIG_NAME}:{_key_line(text, section)}: [{section}] has no `{key}`; add {key} = … to it"
            )
        value = table[key]
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
            raise ConfigError(
                f"{CONFIG_NAME}:{_key_line(text, section, key)}: [{section}] {key} must be a {kind.__name__}, "
                f"got {value!r}"
            )
        return value

    base = need("iri", "base")
    if not base.endswith("/"):
        raise ConfigError(f"{CONFIG_NAME}:{_key_line(text, 'iri', 'base')}: [iri] base must end with '/', got {base!r}")
    languages = need("build", "languages", list, ["en"])
    if not languages or not all(isinstance(x, str) and x for x in languages):
        raise ConfigError(f"{CONFIG_NAME}:{_key_line(text, 'build', 'languages')}: [build] languages must list codes")
    unknown = [x for x in languages if x not in LANGUAGE_CODES]
    if unknown:
        raise ConfigError(
            f"{CONFIG_NAME}:{_key_line(text, 'build', 'languages')}: [build] languages: {unknown[0]!r} is not one of "
            f"{', '.join(sorted(LANGUAGE_CODES))}"
        )
    folders = {}
    for key in ("vocab", "handbook", "build"):
        folder = (root_path / need("paths", key, str, key)).resolve()
        if folder != root_path and root_path not in folder.parents:
            raise ConfigError(
                f"{CONFIG_NAME}:{_key_line(text, 'paths', key)}: [paths] {key} must be a folder inside {root_path}"
            )
        folders[key] = root_path / need("paths", key, str, key)
    return Project(
        root=root_path,
        name=need("project", "name"),
        version=need("project", "version"),
        licence=need("project", "licence"),
        publisher=need("project", "publisher", str, ""),
        base_iri=base,
        languages=tuple(languages),
        stale_after_days=need("build", "stale_after_days", int, 365),
        vocab_dir=folders["vocab"],
        handbook_dir=folders["handbook"],
        build_dir=folders["build"],
    )


def _line_of(message: str) -> int:
    match = re.search(r"line (\d+)", message)
    return int(match.group(1)) if match else 1


def _key_line(text: str, section: str, key: str | None = None) -> int:
    """The line of ``[section]`` (or of ``key`` in it) in the TOML text; 1 if absent."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.strip() == f"[{section}]"), None)
    if start is None:
        return 1
    if key is None:
        return start + 1
    for i in range(start + 1, len(lines)):
        stripped = lines[i].strip()
        if stripped.startswith("["):
            break
        if re.match(rf"{re.escape(key)}\s*=", stripped):
            return i + 1
    return start + 1
