"""Writing output without damaging it: a file or a folder is either the old
one or the complete new one, never half written."""

from __future__ import annotations

import shutil
from pathlib import Path


def write_if_changed(path: Path, content: str | bytes) -> bool:
    """Write ``content`` to ``path`` through a temporary file, unless the file
    already holds exactly that; returns whether it was written."""
    data = content.encode("utf-8") if isinstance(content, str) else content
    if path.is_file() and path.read_bytes() == data:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
    return True


def replace_dir(new: Path, target: Path) -> None:
    """Put the complete folder ``new`` in the place of ``target`` (which may
    not exist); the old folder is moved aside first and removed last."""
    old = target.with_name(target.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        target.rename(old)
    new.rename(target)
    shutil.rmtree(old, ignore_errors=True)
