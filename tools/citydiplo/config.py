"""Project settings: the repository root and ``conf/citydiplo.toml``.

Paths come from here and nowhere else. The root is found from the package's
own location (an editable install, as the README sets up), or given
explicitly with ``--root`` / ``CITYDIPLO_ROOT``.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

CONFIG_NAME = Path("conf") / "citydiplo.toml"


class ConfigError(Exception):
    """The project configuration is missing or malformed."""


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

    def rel(self, path: Path) -> str:
        """A path relative to the root, for messages."""
        try:
            return str(Path(path).resolve().relative_to(self.root))
        except ValueError:
            return str(path)


def find_root(explicit: str | os.PathLike | None = None) -> Path:
    """Return the repository root.

    Order: the explicit argument, ``$CITYDIPLO_ROOT``, then the checkout that
    contains this package (``tools/citydiplo`` → two levels up).
    """
    candidates = []
    if explicit:
        candidates.append(Path(explicit))
    if os.environ.get("CITYDIPLO_ROOT"):
        candidates.append(Path(os.environ["CITYDIPLO_ROOT"]))
    candidates.append(Path(__file__).resolve().parents[2])
    for candidate in candidates:
        if (candidate / CONFIG_NAME).is_file():
            return candidate.resolve()
    raise ConfigError(
        f"cannot find {CONFIG_NAME} (looked in: {', '.join(str(c) for c in candidates)}); "
        "run from a checkout installed with `pip install -e .`, or pass --root"
    )


def load_project(root: str | os.PathLike | None = None) -> Project:
    """Read ``conf/citydiplo.toml`` below the repository root."""
    root_path = find_root(root)
    path = root_path / CONFIG_NAME
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{CONFIG_NAME}: {exc}") from None
    try:
        project = data["project"]
        base = data["iri"]["base"]
        paths = data.get("paths", {})
        build = data.get("build", {})
    except KeyError as exc:
        raise ConfigError(f"{CONFIG_NAME}: missing section or key {exc}") from None
    if not base.endswith("/"):
        raise ConfigError(f"{CONFIG_NAME}: [iri] base must end with '/', got {base!r}")
    return Project(
        root=root_path,
        name=project["name"],
        version=project["version"],
        licence=project["licence"],
        publisher=project.get("publisher", ""),
        base_iri=base,
        languages=tuple(build.get("languages", ["en"])),
        stale_after_days=int(build.get("stale_after_days", 365)),
        vocab_dir=root_path / paths.get("vocab", "vocab"),
        handbook_dir=root_path / paths.get("handbook", "handbook"),
        build_dir=root_path / paths.get("build", "build"),
    )
