"""One JSON conversion: summary rows are lenient, fingerprints are strict and stable."""

from __future__ import annotations

import datetime as dt
import decimal
import uuid

import numpy as np
import pandas as pd
import pytest

from mcops.findings import Finding
from mcops.jsonable import canonical_hash, dumps, jsonable_row, to_jsonable

#: A before-state of the kinds backups and plans hold; its fingerprint was computed by
#: the converter this module replaced, so fingerprints already written still match.
STATE = {
    "rows": [
        [
            "messages",
            {"id": 7, "convo_id": "c1"},
            {
                "epoch": 3,
                "sent_at": dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
                "d": dt.date(2024, 1, 2),
                "t": dt.time(1, 2, 3),
                "td": dt.timedelta(minutes=5),
                "dec": decimal.Decimal("1.50"),
                "u": uuid.UUID(int=5),
                "b": b"\x00\xffab",
                "f": 0.1,
                "flag": True,
                "none": None,
                "tup": (1, "x"),
                "s": frozenset({1, 2, 3}),
            },
        ]
    ],
    "naive": dt.datetime(2024, 1, 2, 3, 4, 5, 678901),
    "unicode": "é—",
}


def test_canonical_hash_is_unchanged_for_the_types_backups_hold():
    assert canonical_hash(STATE) == (
        "6a53d110e88b2324aafe592f8cc2a8fae83c3c3bc432770e619100fc01a3b78e"
    )


def test_hashing_refuses_unknown_objects_instead_of_hashing_their_text():
    with pytest.raises(TypeError, match="cannot turn object into JSON"):
        canonical_hash({"x": object()})


def test_sets_hash_the_same_whatever_their_order():
    assert dumps({"a", "b", "c"}) == dumps(frozenset(["c", "a", "b"])) == '["a", "b", "c"]'


def test_pandas_and_numpy_values_become_plain_json():
    row = {
        "n": np.int64(3),
        "x": np.float64("nan"),
        "missing": pd.NaT,
        "at": pd.Timestamp("2024-01-01T00:00:00Z"),
        "ns": np.datetime64("2024-01-01T00:00:00.000000001"),
        "nat64": np.datetime64("NaT"),
        "took": pd.Timedelta("5min"),
        "ok": np.bool_(True),
        "raw": b"ab",
        "nested": {"k": [np.int32(1), float("nan")]},
    }
    assert to_jsonable(row) == {
        "n": 3,
        "x": None,
        "missing": None,
        "at": "2024-01-01T00:00:00+00:00",
        "ns": "2024-01-01T00:00:00.000000001",
        "nat64": None,
        "took": 300.0,
        "ok": True,
        "raw": "YWI=",
        "nested": {"k": [1, None]},
    }


def test_summary_rows_show_unknown_objects_as_text():
    class Odd:
        def __str__(self) -> str:
            return "odd"

    assert jsonable_row({"o": Odd(), 1: decimal.Decimal("2.5")}) == {"o": "odd", "1": "2.5"}


def test_finding_data_goes_through_the_one_converter():
    frame = pd.DataFrame(
        {"at": pd.to_datetime(["2024-01-01T00:00:00Z", None]), "v": [1.5, float("nan")]}
    )
    data = Finding.make("health", "warning", "t", rows=frame).to_dict()["data"]
    assert data == [{"at": "2024-01-01T00:00:00+00:00", "v": 1.5}, {"at": None, "v": None}]
