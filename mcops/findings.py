"""A Finding: one check's verdict, with the rows that justify it.

Checks return Findings; the evidence recorder displays them in notebooks and collects
them into summary.json. Findings are frozen so that what was shown is what was saved.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mcops.jsonable import jsonable_row

__all__ = ["DATA_ROW_CAP", "Finding", "Level"]

#: rows kept in ``Finding.data``; the full number is in ``Finding.count``.
DATA_ROW_CAP = 50


class Level(enum.IntEnum):
    """Ordered so that ``max(levels)`` is the worst. Values are the summary.json strings."""

    OK = 0
    INFO = 1
    WARNING = 2
    CRITICAL = 3

    def __str__(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, value: str | Level) -> Level:
        """Accept ``"warning"`` or ``Level.WARNING``; raise ValueError naming the choices."""
        if isinstance(value, Level):
            return value
        try:
            return cls[str(value).strip().upper()]
        except KeyError:
            choices = ", ".join(str(level) for level in cls)
            raise ValueError(f"unknown level {value!r}; use one of: {choices}") from None


@dataclass(frozen=True)
class Finding:
    """The result of one check.

    ``check`` is a check id declared in `mcops.registry` (e.g. ``duplicate_epochs``).
    ``data`` holds up to DATA_ROW_CAP JSON-able rows; ``count`` is the full number of
    offending rows (0 when the check passed). ``checked`` is False when the check's
    source could not be used (level info, the title says why). ``affected_meetings``
    is the number of distinct meetings the trouble touches, when the check knows it:
    runbook 004's "P3 affects multiple meetings → P2" counts meetings, not rows.
    """

    check: str
    level: Level
    title: str
    detail: str = ""
    count: int = 0
    data: tuple[Mapping[str, Any], ...] = field(default_factory=tuple)
    checked: bool = True
    affected_meetings: int | None = None

    @classmethod
    def make(
        cls,
        check: str,
        level: Level | str,
        title: str,
        *,
        detail: str = "",
        rows: Sequence[Mapping[str, Any]] | Any = (),
        count: int | None = None,
        affected_meetings: int | None = None,
    ) -> Finding:
        """Build a Finding from rows (a list of dicts or a DataFrame), capping ``data``."""
        records = _records(rows)
        return cls(
            check=check,
            level=Level.parse(level),
            title=title,
            detail=detail,
            count=len(records) if count is None else int(count),
            data=tuple(records[:DATA_ROW_CAP]),
            affected_meetings=None if affected_meetings is None else int(affected_meetings),
        )

    @classmethod
    def not_checked(cls, check: str, why: str) -> Finding:
        """The contract for a missing or unreachable source: info, 'not checked: <why>'."""
        return cls(check=check, level=Level.INFO, title=f"not checked: {why}", checked=False)

    def to_dict(self) -> dict[str, Any]:
        """The summary.json shape."""
        return {
            "check": self.check,
            "level": str(self.level),
            "title": self.title,
            "detail": self.detail,
            "count": self.count,
            "data": [jsonable_row(row) for row in self.data],
            "checked": self.checked,
            "affected_meetings": self.affected_meetings,
        }


def _records(rows: Any) -> list[Mapping[str, Any]]:
    if hasattr(rows, "to_dict") and hasattr(rows, "columns"):  # a DataFrame
        return list(rows.to_dict(orient="records"))
    return list(rows)
