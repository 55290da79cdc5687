"""Runbook 004 Scenario 4, root causes 4-5: is every Secret and ConfigMap there?

Judged from names and key names only (`mcops.scenarios.config_refs` never reads values).
"""

from __future__ import annotations

import pandas as pd

from mcops.findings import Finding, Level

__all__ = ["config_refs"]


def config_refs(refs: pd.DataFrame, *, check: str = "config_refs") -> Finding:
    """Root causes 4-5: every Secret and ConfigMap the pod template needs exists.

    ``refs``: one row per reference — ``kind``, ``name``, ``key`` (empty for a whole
    object), ``used_by``, ``optional``, ``present``, ``key_present`` (names only, never
    values). A required one missing, or a required key missing from it, is critical.
    """
    if refs.empty:
        return Finding.make(
            check, Level.OK, "The pod template references no Secret or ConfigMap", count=0
        )
    optional = refs["optional"].fillna(False).astype(bool)
    present = refs["present"].fillna(False).astype(bool)
    key_present = refs["key_present"].astype("object").fillna(True).astype(bool)
    missing = refs[(~optional & (~present | ~key_present)).to_numpy()]
    if missing.empty:
        objects = refs[["kind", "name"]].drop_duplicates()
        return Finding.make(
            check,
            Level.OK,
            f"All {_n(len(objects))} present",
            rows=objects,
            count=0,
        )
    what = ", ".join(
        dict.fromkeys(
            f"{r['kind']} {r['name']}"
            + (f" (key {r['key']})" if r["key"] and bool(r["present"]) else "")
            for _, r in missing.iterrows()
        )
    )
    return Finding.make(
        check,
        Level.CRITICAL,
        f"Missing: {what}",
        detail="Root cause 4/5: pods cannot start without it. Restore it from the secure "
        "backup (Option 3), then delete the pods so they are recreated (Option 2).",
        rows=missing[["kind", "name", "key", "used_by", "present", "key_present"]],
    )


def _n(count: int) -> str:
    return f"{count} referenced Secret/ConfigMap" + ("" if count == 1 else "s")
