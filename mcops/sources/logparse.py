"""Log lines (JSON objects or plain text) → one tidy DataFrame, fast.

Why this shape: the server writes one JSON object per line, but real log streams mix
in plain text, truncated lines and garbage. Nothing is dropped: a line that looks like
JSON but does not parse, or has no parseable timestamp, is kept with ``malformed=True``
and its text in ``raw``. Speed comes from Arrow: the whole block goes through
``pyarrow.json`` in one call (~1.5M lines/s); only when that fails are lines split,
parsed per chunk, and the bad ones isolated.

Columns: ts (UTC), level, target, msg, convo_id, meeting_id, other JSON keys,
conversation_ref / meeting_ref (the id a line refers to: convo_id / meeting_id, else
pulled from msg like the runbook's
``grep -oP 'conversation \\K\\S+'``), raw, malformed. ``attrs["malformed"]`` is the count.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

__all__ = ["LEADING", "empty_logs", "parse_log_bytes", "parse_log_lines", "parse_prefixed_logs"]

#: the first columns, always present, in this order.
LEADING = ("ts", "level", "target", "msg", "convo_id", "meeting_id")
TRAILING = ("conversation_ref", "meeting_ref", "raw", "malformed")

_SCHEMA = pa.schema([(name, pa.string()) for name in LEADING])
_PARSE = pj.ParseOptions(explicit_schema=_SCHEMA, unexpected_field_behavior="infer")
_READ = pj.ReadOptions(block_size=4 << 20)
_CHUNK = 4096
_PLAIN = (
    r"^(?P<ts>\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)?)\s+"
    r"(?:\[?(?P<level>TRACE|DEBUG|INFO|WARN|WARNING|ERROR|FATAL|PANIC)\]?\s+)?(?P<msg>.*)$"
)
#: ref column -> (the structured field that already names it, the text pattern otherwise)
_REFS = {
    "conversation_ref": ("convo_id", r"conversation (?P<ref>\S+)"),
    "meeting_ref": ("meeting_id", r"meeting (?P<ref>\S+)"),
}


class _LazyPool:
    """A ThreadPoolExecutor started on first use, so importing this module starts nothing."""

    def __init__(self, *, max_workers: int) -> None:
        self._max_workers = max_workers
        self._pool: ThreadPoolExecutor | None = None

    def _get(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self._max_workers, thread_name_prefix="mcops-logs")
        return self._pool

    def submit(self, fn: Any, *args: Any) -> Any:
        return self._get().submit(fn, *args)

    def map(self, fn: Any, items: Any) -> Any:
        return self._get().map(fn, items)


#: two workers for Arrow kernels that release the GIL (created on first use, not at import)
_POOL = _LazyPool(max_workers=2)


def empty_logs() -> pd.DataFrame:
    """A logs frame with no rows and the fixed columns."""
    frame = pd.DataFrame(
        {
            "ts": pd.Series([], dtype="datetime64[ns, UTC]"),
            **{c: pd.Series([], dtype="str") for c in LEADING[1:]},
            "conversation_ref": pd.Series([], dtype="str"),
            "meeting_ref": pd.Series([], dtype="str"),
            "raw": pd.Series([], dtype="str"),
            "malformed": pd.Series([], dtype="bool"),
        }
    )
    frame.attrs["malformed"] = 0
    return frame


#: log text as read: Python bytes, or an Arrow buffer (a file read without a copy)
Block = bytes | pa.Buffer


def _read_json(block: Block) -> pa.Table:
    # BufferReader is zero-copy for both (BytesIO would copy the whole block)
    return pj.read_json(pa.BufferReader(block), read_options=_READ, parse_options=_PARSE)


def _text_array(data: Block) -> pa.Array:
    """``data`` as a one-element Arrow string array without copying it (UTF-8 checked)."""
    offsets = pa.py_buffer(np.array([0, len(data)], dtype=np.int64))
    binary = pa.Array.from_buffers(pa.large_binary(), 1, [None, offsets, pa.py_buffer(data)])
    try:
        return binary.cast(pa.large_string())
    except pa.ArrowInvalid:
        text = memoryview(data).tobytes().decode("utf-8", "replace")
        return pa.array([text], pa.large_string())


def _clean_lines(lines: pa.Array) -> pa.Array:
    """Drop carriage returns and blank lines (slower: only when the block has them)."""
    lines = pc.utf8_rtrim(lines, characters="\r")
    return lines.filter(pc.greater(pc.utf8_length(pc.utf8_trim_whitespace(lines)), 0))


def _split_lines(data: Block) -> pa.Array:
    """Non-blank lines of ``data`` as an Arrow string array (invalid UTF-8 replaced)."""
    lines = pc.list_flatten(pc.split_pattern(_text_array(data), "\n"))
    if memoryview(data)[-1:] == b"\n":
        lines = lines.slice(0, len(lines) - 1)
    # CRLF endings and blank lines (zero lengths) need the slower clean-up
    if pc.any(pc.ends_with(lines, "\r")).as_py() or pc.min(pc.binary_length(lines)).as_py() == 0:
        lines = _clean_lines(lines)
    return lines


def _arrow_strings(values: pd.Series) -> pa.Array:
    """A str Series as Arrow strings, zero-copy when pandas already holds Arrow data."""
    if not isinstance(values.dtype, pd.StringDtype):
        values = values.astype("str")
    array = pa.array(values.array)
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array


def _utc(values: pd.Series) -> pd.Series:
    """Strings → datetime64[ns, UTC]; unparseable → NaT (the row becomes malformed)."""
    array = _arrow_strings(values)
    try:
        stamps = pc.cast(array, pa.timestamp("ns", "UTC"))
        return pd.Series(stamps.to_pandas(), index=values.index).astype("datetime64[ns, UTC]")
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        parsed = pd.to_datetime(values, utc=True, format="ISO8601", errors="coerce")
        missing = parsed.isna() & values.notna()
        if missing.any():  # mixed formats: try each leftover value on its own
            parsed[missing] = pd.to_datetime(
                values[missing], utc=True, errors="coerce", format="mixed"
            )
        return parsed.astype("datetime64[ns, UTC]")


def _json_table_frame(table: pa.Table) -> pd.DataFrame:
    frame = table.to_pandas()
    for name in frame.columns:  # nested values (backtrace lists, objects) stay Python objects
        if pa.types.is_struct(table.schema.field(name).type) or pa.types.is_list(
            table.schema.field(name).type
        ):
            frame[name] = table.column(name).to_pylist()
    return frame


def _ref(field: pa.Array, msg: pa.Array, pattern: str) -> pd.Series:
    """The id a line refers to: its structured field, else the id named in its text.

    Reading the text (the runbook's ``grep -oP 'conversation \\K\\S+'``) only where
    the field is empty keeps structured JSON logs at Arrow's parse speed.
    """
    word = pattern.split(" ", 1)[0] + " "  # "conversation ": a cheap test before the regex
    todo = pc.and_(pc.is_null(field), pc.fill_null(pc.match_substring(msg, word), False))
    if not pc.any(todo).as_py():
        return field.to_pandas()
    index = pc.indices_nonzero(todo)
    match = pc.extract_regex(pc.take(msg, index), pattern)
    found = pc.if_else(match.is_valid(), match.field("ref"), None)
    filled = pc.replace_with_mask(
        field.cast(pa.large_string()), todo, found.cast(pa.large_string())
    )
    return filled.to_pandas()


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value))


def _parse_json_chunk(lines: list[str]) -> tuple[pd.DataFrame, np.ndarray]:
    """Parse a chunk of JSON-looking lines; returns (records frame, ok mask)."""
    try:
        table = _read_json("\n".join(lines).encode())
        if table.num_rows == len(lines):
            return _json_table_frame(table), np.ones(len(lines), dtype=bool)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        pass
    records: list[dict[str, Any]] = []
    ok = np.zeros(len(lines), dtype=bool)
    for i, line in enumerate(lines):
        try:
            obj = json.loads(line)
        except ValueError:
            continue
        if isinstance(obj, dict):
            records.append(obj)
            ok[i] = True
    frame = pd.DataFrame.from_records(records) if records else pd.DataFrame()
    for column in LEADING:  # the schema's columns are strings whatever the line said
        if column in frame:
            frame[column] = frame[column].map(lambda v: None if _missing(v) else str(v))
    return frame, ok


def _plain_frame(lines: pa.Array) -> pd.DataFrame:
    match = pc.extract_regex(lines, _PLAIN)
    valid = match.is_valid()
    frame = pd.DataFrame(
        {
            "ts": pc.if_else(valid, match.field("ts"), None).to_pandas(),
            "level": pc.if_else(
                pc.and_(valid, pc.greater(pc.utf8_length(match.field("level")), 0)),
                match.field("level"),
                None,
            ).to_pandas(),
            "msg": pc.if_else(valid, match.field("msg"), lines).to_pandas(),
        }
    )
    frame["level"] = frame["level"].replace({"WARNING": "WARN"})
    return frame


def _slow_path(lines: pa.Array) -> pd.DataFrame:
    """Mixed or broken input: JSON lines per chunk, bad ones isolated, plain text by regex."""
    looks_json = pc.starts_with(pc.utf8_ltrim_whitespace(lines), "{").to_numpy(zero_copy_only=False)
    positions = np.arange(len(lines))
    pieces: list[pd.DataFrame] = []
    json_pos = positions[looks_json]
    json_lines = lines.filter(pa.array(looks_json)).to_pylist()
    bad_pos: list[np.ndarray] = []
    for start in range(0, len(json_lines), _CHUNK):
        chunk = json_lines[start : start + _CHUNK]
        frame, ok = _parse_json_chunk(chunk)
        pos = json_pos[start : start + _CHUNK]
        frame["_line"] = pos[ok]
        frame["_broken"] = False
        pieces.append(frame)
        bad_pos.append(pos[~ok])
    broken = np.concatenate(bad_pos) if bad_pos else np.array([], dtype=np.int64)
    if len(broken):
        pieces.append(pd.DataFrame({"_line": broken, "_broken": True}))
    plain_pos = positions[~looks_json]
    if len(plain_pos):
        plain = _plain_frame(lines.filter(pa.array(~looks_json)))
        plain["_line"] = plain_pos
        plain["_broken"] = False
        pieces.append(plain)
    frame = pd.concat([p for p in pieces if len(p)], ignore_index=True)
    frame = frame.sort_values("_line", kind="stable").reset_index(drop=True)
    broken_mask = frame.pop("_broken").astype(bool)
    frame.pop("_line")
    frame.attrs["_broken"] = broken_mask.to_numpy()
    return frame


def _finish(frame: pd.DataFrame, lines: pa.Array, broken: np.ndarray) -> pd.DataFrame:
    for column in LEADING:
        if column not in frame:
            frame[column] = None
    frame["ts"] = _utc(frame["ts"]) if len(frame) else frame["ts"]
    for column in LEADING[1:]:
        if not isinstance(frame[column].dtype, pd.StringDtype):
            frame[column] = frame[column].astype("str")
    raw = lines.to_pandas()
    if broken.any():
        frame["msg"] = frame["msg"].where(~broken, raw.to_numpy())
    msg = _arrow_strings(frame["msg"])
    # Arrow releases the GIL: both id extractions run at once
    refs = list(
        _POOL.map(lambda spec: _ref(_arrow_strings(frame[spec[0]]), msg, spec[1]), _REFS.values())
    )
    for column, values in zip(_REFS, refs, strict=True):
        frame[column] = values
    frame["raw"] = raw
    frame["malformed"] = broken | frame["ts"].isna().to_numpy()
    others = [c for c in frame.columns if c not in LEADING and c not in TRAILING]
    frame = frame[[*LEADING, *others, *TRAILING]]
    frame.attrs = {"malformed": int(frame["malformed"].sum())}
    return frame


def parse_log_lines(lines: pa.Array) -> pd.DataFrame:
    """Parse an Arrow string array of lines (blank lines already removed)."""
    if len(lines) == 0:
        return empty_logs()
    frame = _slow_path(lines)
    broken = frame.attrs.pop("_broken")
    return _finish(frame, lines, broken)


def parse_log_bytes(data: Block) -> pd.DataFrame:
    """Parse a block of log text; one Arrow call when every line is a JSON object."""
    # splitting (for ``raw``) overlaps Arrow's JSON parse; both release the GIL
    split = _POOL.submit(_split_lines, data)
    try:
        table = _read_json(data)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        table = None
    lines = split.result()
    if len(lines) == 0:
        return empty_logs()
    if table is not None and table.num_rows == len(lines):
        frame = _json_table_frame(table)
        return _finish(frame, lines, np.zeros(len(lines), dtype=bool))
    return parse_log_lines(_clean_lines(lines))


_PREFIX = r"^(?P<stamp>\d{4}-\d\d-\d\dT\S+Z) (?P<line>.*)$"


def parse_prefixed_logs(text: str) -> pd.DataFrame:
    """Lines from ``docker logs --timestamps`` or the Kubernetes log API (timestamps=True).

    The runtime's timestamp prefix is stripped; it becomes ``ts`` where the line itself
    carries none (plain text), so such lines are not malformed. ``raw`` is the line as
    the service wrote it.
    """
    lines = _split_lines(text.encode("utf-8"))
    if len(lines) == 0:
        return empty_logs()
    match = pc.extract_regex(lines, _PREFIX)
    has_prefix = match.is_valid()
    body = pc.if_else(has_prefix, match.field("line"), lines)
    stamps = pc.if_else(has_prefix, match.field("stamp"), None)
    kept = pc.greater(pc.utf8_length(pc.utf8_trim_whitespace(body)), 0)
    body, stamps = body.filter(kept), stamps.filter(kept)
    frame = parse_log_lines(body) if len(body) else empty_logs()
    if not len(frame):
        return frame
    runtime_ts = _utc(pd.Series(stamps.to_pandas()))
    fill = frame["ts"].isna() & runtime_ts.notna()
    looks_json = frame["raw"].str.lstrip().str.startswith("{").to_numpy()
    frame["ts"] = frame["ts"].where(~fill, runtime_ts)
    frame["malformed"] = frame["malformed"] & ~(fill.to_numpy() & ~looks_json)
    frame.attrs["malformed"] = int(frame["malformed"].sum())
    return frame
