"""A problem found in the vocabulary or the handbook, with its place."""

from __future__ import annotations

from dataclasses import dataclass

ERROR = "error"
NOTICE = "notice"


@dataclass(frozen=True, order=True)
class Problem:
    """``path:line: entity: message``; ``severity`` is error or notice.

    Errors fail ``citydiplo validate`` and the build; notices (stale facts)
    are printed but do not fail anything.
    """

    path: str
    line: int
    entity: str | None
    message: str
    code: str = "vocab"
    severity: str = ERROR

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}:"
        who = f" {self.entity}:" if self.entity else ""
        tag = "" if self.severity == ERROR else f" [{self.severity}]"
        return f"{where}{who}{tag} {self.message}"

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR
