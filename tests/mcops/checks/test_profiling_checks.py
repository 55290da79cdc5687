"""Performance profiling (000): the runbook's indexes, p95 per message type for the plot."""

import pandas as pd

from mcops.checks import profiling
from mcops.findings import Level
from mcops.remediate.sql_indexes import RUNBOOK_INDEXES


def indexes(*names: str) -> pd.DataFrame:
    return pd.DataFrame({"table_name": "messages", "index_name": list(names)})


def test_missing_indexes_names_each_missing_one_with_its_purpose():
    found = profiling.missing_indexes(
        indexes("idx_messages_convo_epoch", "pk_messages"), expected=RUNBOOK_INDEXES
    )
    assert found.level == Level.WARNING and found.count == 2
    assert [r["index"] for r in found.data] == [
        "idx_members_convo_active",
        "idx_messages_convo_seq",
    ]
    assert found.data[0]["purpose"] == "speed up member lookup"
    every = indexes(
        "idx_messages_convo_epoch", "idx_members_convo_active", "idx_messages_convo_seq"
    )
    assert profiling.missing_indexes(every, expected=RUNBOOK_INDEXES).level == Level.OK
    assert profiling.missing_indexes(pd.DataFrame(), expected=RUNBOOK_INDEXES).count == 3


def test_p95_per_operation_keeps_only_p95_rows_with_values():
    snapshot = pd.DataFrame(
        {
            "key": ["p95_latency_ms", "p95_latency_ms", "db_pool_active"],
            "operation": ["get_epoch", "send_message", ""],
            "value": [0.5, float("nan"), 3.0],
        }
    )
    assert profiling.p95_per_operation(snapshot).to_dict("records") == [
        {"operation": "get_epoch", "p95_ms": 0.5}
    ]
