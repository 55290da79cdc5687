"""The evidence bundle's data: each frame a check judged, and the exact queries behind it.

`Investigation.check` hands its fetch to `fetched`. With ``MCOPS_EVIDENCE_DIR`` set (the
runner sets it), the frame is kept as ``data/<check>.parquet`` and every query a source
sends meanwhile (`record_query`, called by the sources) is kept in ``queries.json``
under that check, so a postmortem can show what was asked, of what, over which window.
With ``MCOPS_REPLAY_DIR`` set (`mcops replay`), nothing is fetched: the frame comes
back from that recorded bundle, and a check that was "not checked" there is not
checked again, for the recorded reason.

``queries.json``::

    {"window": {"since": ISO, "until": ISO},
     "checks": {"duplicate_epochs": {"data": "data/duplicate_epochs.parquet", "rows": 1,
                                     "columns": ["convo_id", "epoch", "count"]},
                "p95_latency": {"data": null, "not_checked": "prometheus: ..."}},
     "queries": [{"check": "duplicate_epochs", "source": "sql", "query": "SELECT ...",
                  "parameters": {"since": ISO}, "target": "sqlite:///...", "at": ISO}]}

A frame Parquet cannot hold (mixed-type objects) is not fatal: its check gets
``"data": null`` and the ``error``, and a replay says it cannot reproduce that check.
Queries are redacted (`mcops.secrets`) before they are written.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from mcops.errors import SourceConfigError, SourceError
from mcops.jsonable import to_jsonable
from mcops.secrets import redact_text, redact_url, redact_value
from mcops.storage import write_atomic
from mcops.utc import iso_now

__all__ = [
    "DATA_DIR",
    "QUERIES",
    "REPLAY_DIR_ENV",
    "fetched",
    "read_frame",
    "read_queries",
    "record_query",
]

#: Set by `mcops replay` for the kernel: the recorded bundle checks read their frames from.
REPLAY_DIR_ENV = "MCOPS_REPLAY_DIR"
DATA_DIR = "data"
QUERIES = "queries.json"
NOT_CHECKED = "not checked: "

#: The check whose fetch is running, so a source's query is filed under it.
_CHECK: ContextVar[str | None] = ContextVar("mcops_bundle_check", default=None)


class _Log:
    """``queries.json`` and ``data/`` of one evidence directory, as this kernel writes them.

    Opened once per directory and process: what an earlier run left there is removed
    first, so the bundle holds this run's data only.
    """

    def __init__(self, out: Path) -> None:
        self.out = out
        self.doc: dict[str, Any] = {"window": None, "checks": {}, "queries": []}
        (out / DATA_DIR).mkdir(parents=True, exist_ok=True)
        for stale in (out / DATA_DIR).glob("*.parquet"):
            stale.unlink()
        self.write()

    def write(self) -> None:
        text = json.dumps(self.doc, indent=2, ensure_ascii=False) + "\n"
        # whole or not at all (a full disk keeps the previous version); rewritten at every
        # query, so not fsynced each time: the manifest seals the last one
        write_atomic(self.out / QUERIES, text, durable=False)

    def keep(self, check_id: str, frame: Any) -> None:
        """``data/<check>.parquet``, or why it could not be written."""
        path = self.out / DATA_DIR / f"{check_id}.parquet"
        try:
            if not isinstance(frame, pd.DataFrame):
                raise TypeError(f"the fetch returned {type(frame).__name__}, not a DataFrame")
            _to_parquet(frame, path)
        except (ValueError, TypeError, NotImplementedError, OverflowError) as err:
            path.unlink(missing_ok=True)
            why = f"not saved as Parquet: {type(err).__name__}: {err}"
            self.doc["checks"][check_id] = {"data": None, "error": redact_text(why)}
        else:
            self.doc["checks"][check_id] = {
                "data": f"{DATA_DIR}/{path.name}",
                "rows": len(frame),
                "columns": [str(c) for c in frame.columns],
            }
        self.write()


_LOGS: dict[Path, _Log] = {}


def _log() -> _Log | None:
    from mcops.runner import EVIDENCE_DIR_ENV  # one name for the variable, the runner's

    text = os.environ.get(EVIDENCE_DIR_ENV)
    if not text:
        return None
    out = Path(text).resolve()
    if out not in _LOGS:
        _LOGS[out] = _Log(out)
    return _LOGS[out]


def record_query(
    source: str,
    query: str,
    *,
    name: str = "",
    target: str = "",
    parameters: Mapping[str, Any] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> None:
    """Keep one query a source sent (its text as sent, values bound beside it) in
    ``queries.json``, under the check being fetched; nothing without an evidence dir.

    ``name`` is the query's name where it has one (a runbook SQL query, a log source
    kind); ``since``/``until`` the time range it covers when that is not a parameter."""
    log = _log()
    if log is None:
        return
    entry: dict[str, Any] = {
        "check": _CHECK.get(),
        "source": source,
        "name": name,
        "query": redact_text(query),
        "parameters": redact_value(to_jsonable(dict(parameters or {}), default=str)),
        "target": redact_url(target) if target else "",
        "at": iso_now(),
    }
    if since is not None or until is not None:
        entry["since"] = to_jsonable(since)
        entry["until"] = to_jsonable(until)
    log.doc["queries"].append(entry)
    log.write()


def fetched(
    check_id: str, fetch: Callable[[], pd.DataFrame], *, since: datetime, until: datetime
) -> pd.DataFrame:
    """``fetch()`` for check ``check_id``, kept in the bundle; under a replay, the frame
    the recorded bundle kept (a SourceError when the recorded check was not checked)."""
    replay = os.environ.get(REPLAY_DIR_ENV)
    log = _log()
    if log is not None and log.doc["window"] is None:
        log.doc["window"] = {"since": to_jsonable(since), "until": to_jsonable(until)}
    token = _CHECK.set(check_id)
    try:
        frame = read_frame(Path(replay), check_id) if replay else fetch()
    except SourceError as err:
        if log is not None:
            why = redact_text(f"{err.source}: {err}")
            log.doc["checks"][check_id] = {"data": None, "not_checked": why}
            log.write()
        raise
    finally:
        _CHECK.reset(token)
    if log is not None:
        log.keep(check_id, frame)
    return frame


def read_queries(bundle: Path) -> dict[str, Any]:
    """A bundle's ``queries.json`` (empty sections when it has none)."""
    path = Path(bundle) / QUERIES
    if not path.is_file():
        return {"window": None, "checks": {}, "queries": []}
    return json.loads(path.read_text(encoding="utf-8"))


def read_frame(bundle: Path, check_id: str) -> pd.DataFrame:
    """The frame ``check_id`` judged in the recorded ``bundle``.

    Raises the SourceError that reproduces the recorded "not checked: <why>", or one
    from source ``replay`` when the bundle kept no data for the check.
    """
    entry = read_queries(bundle)["checks"].get(check_id)
    if entry is None:
        raise SourceError(f"the recorded bundle has no data for {check_id}", source="replay")
    if entry.get("data"):
        path = Path(bundle) / entry["data"]
        if not path.is_file():
            raise SourceError(f"{entry['data']} is missing from the bundle", source="replay")
        return _from_parquet(path)
    recorded = _recorded_why(bundle, check_id)
    why = recorded or entry.get("not_checked")
    if not why:
        raise SourceError(f"{check_id}: {entry.get('error', 'no data kept')}", source="replay")
    source, _, message = why.partition(": ")  # Investigation.check shows "<source>: <err>"
    # "not checked" in the summary: the source was not given or not usable (what
    # probe_health tells apart from an unreachable service, which is its critical finding)
    raise (SourceConfigError if recorded else SourceError)(message, source=source)


def _recorded_why(bundle: Path, check_id: str) -> str | None:
    """The reason summary.json gave (exactly as recorded, redacted by the run)."""
    path = Path(bundle) / "summary.json"
    if not path.is_file():
        return None
    for finding in json.loads(path.read_text(encoding="utf-8")).get("findings", []):
        title = str(finding.get("title", ""))
        if finding.get("check") == check_id and title.startswith(NOT_CHECKED):
            return title[len(NOT_CHECKED) :]
    return None


#: attrs key naming the columns kept as JSON text (nested values: a response body)
_JSON_COLUMNS = "mcops_json_columns"


def _nested(values: pd.Series) -> bool:
    return values.dtype == object and any(isinstance(v, dict | list) for v in values)


def _to_parquet(frame: pd.DataFrame, path: Path) -> None:
    """Nested values (dicts, lists) go in as JSON text: Parquet would give dicts of one
    column every key of the others (None-filled), and a replay must judge what was read."""
    kept = frame.copy(deep=False)
    kept.attrs = {k: v for k, v in frame.attrs.items() if _is_json(v)}  # pandas stores attrs
    nested = [str(c) for c in kept.columns if _nested(kept[c])]
    for column in nested:
        kept[column] = [json.dumps(v) for v in kept[column]]
    if nested:
        kept.attrs[_JSON_COLUMNS] = nested
    kept.to_parquet(path)


def _from_parquet(path: Path) -> pd.DataFrame:
    frame = pd.read_parquet(path)
    for column in frame.columns:  # Parquet keeps microseconds; the sources give ns
        if frame[column].dtype.kind == "M":
            frame[column] = frame[column].dt.as_unit("ns")
    for column in frame.attrs.pop(_JSON_COLUMNS, []):
        frame[column] = [json.loads(v) for v in frame[column]]
    return frame


def _is_json(value: Any) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True
