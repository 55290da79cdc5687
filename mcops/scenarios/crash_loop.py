"""Runbook 000 "Handling Actor Crashes": which conversation to inspect, and its rows.

The judges in `mcops.checks.crashes` and `mcops.checks.logs` only see frames.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from mcops.errors import SourceConfigError

if TYPE_CHECKING:
    from mcops.investigation import Investigation

__all__ = ["conversation_rows"]


def conversation_rows(inv: Investigation, convo_id: str) -> pd.DataFrame:
    """Step 2: the conversation's row and its orphaned members and messages.

    Without a conversation (no crash in the logs and no ``convo_id``) there is nothing
    to inspect: the check says so ("not checked") instead of failing the notebook.
    """
    if not convo_id:
        raise SourceConfigError(
            "no conversation to inspect: no actor crash in the logs and convo_id is empty",
            source="parameters",
            fix="pass -p convo_id=<the crashing conversation> (or a log_source with crashes)",
        )
    return inv.sql("conversation_orphans", convo_id=convo_id)
