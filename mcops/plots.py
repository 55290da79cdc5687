"""Figures an on-call engineer reads at a glance.

One palette for levels everywhere (green ok, grey info, amber warning, red critical),
threshold bands drawn behind time series so "is this bad?" needs no legend, and the
newest point labelled with its value. Every function returns a plotly Figure and
accepts empty input (an annotated empty figure, never an exception).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import pandas as pd
import plotly.graph_objects as go

from mcops.findings import Finding, Level
from mcops.plot_marks import current_marks, draw_marks

__all__ = [
    "LEVEL_COLORS",
    "Band",
    "bars",
    "compare",
    "events_over_time",
    "findings_overview",
    "timeseries",
]

LEVEL_COLORS: dict[Level, str] = {
    Level.OK: "#2e7d32",
    Level.INFO: "#78909c",
    Level.WARNING: "#f9a825",
    Level.CRITICAL: "#c62828",
}

Band = tuple[float, float, Level]
"""(low, high, level): a horizontal band; use float('inf') for an open top."""

_LAYOUT = {
    "template": "plotly_white",
    "height": 360,
    "margin": {"l": 60, "r": 30, "t": 60, "b": 40},
    "legend": {"orientation": "h", "y": -0.2},
}


def _empty(title: str, why: str) -> go.Figure:
    fig = go.Figure(layout={**_LAYOUT, "title": title, "height": 200})
    fig.add_annotation(text=why, showarrow=False, font={"size": 14, "color": "#78909c"})
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return fig


def _draw_bands(fig: go.Figure, bands: Sequence[Band], top: float) -> None:
    for low, high, level in bands:
        fig.add_hrect(
            y0=low,
            y1=min(high, top),
            fillcolor=LEVEL_COLORS[level],
            opacity=0.08,
            line_width=0,
            layer="below",
        )
        if level >= Level.WARNING and low > 0:
            fig.add_hline(
                y=low,
                line={"color": LEVEL_COLORS[level], "dash": "dot", "width": 1},
                annotation_text=f"{level} ≥ {low:g}",
                annotation_position="top left",
            )


def timeseries(
    frame: pd.DataFrame,
    *,
    title: str,
    y_label: str = "",
    by: str | None = None,
    bands: Sequence[Band] = (),
    marks: pd.DataFrame | None = None,
) -> go.Figure:
    """A line per ``by`` value over ``timestamp``, threshold bands behind, last value
    labelled, and the window's marks (faults, restarts, remediations; by default the
    running investigation's, `mcops.plot_marks`) as dashed lines."""
    if frame.empty:
        return _empty(title, "no data in the window")
    fig = go.Figure(layout={**_LAYOUT, "title": title, "yaxis_title": y_label})
    groups = frame.groupby(by, sort=True) if by and by in frame else [(title, frame)]
    top = float(frame["value"].max())
    for name, group in groups:
        group = group.sort_values("timestamp")
        label = name[0] if isinstance(name, tuple) else name
        fig.add_trace(
            go.Scatter(x=group["timestamp"], y=group["value"], mode="lines", name=str(label))
        )
        last = group.iloc[-1]
        fig.add_annotation(
            x=last["timestamp"],
            y=last["value"],
            text=f"{last['value']:.4g}",
            showarrow=False,
            xanchor="left",
            yanchor="bottom",
            font={"size": 11},
        )
    if bands:
        visible_top = max(top * 1.15, min(b[0] for b in bands if b[2] >= Level.WARNING) * 1.1)
        _draw_bands(fig, bands, visible_top)
        fig.update_yaxes(range=[0, visible_top])
    marks = current_marks() if marks is None else marks
    if not marks.empty:
        times = pd.to_datetime(frame["timestamp"], utc=True)
        draw_marks(fig, marks[marks["ts"].between(times.min(), times.max())])
    return fig


def bars(
    frame: pd.DataFrame,
    *,
    x: str | Sequence[str],
    y: str,
    title: str,
    level: Level | None = None,
    horizontal: bool = True,
    top: int = 20,
    ordered: bool = False,
) -> go.Figure:
    """The ``top`` largest ``y`` by ``x`` (e.g. crashes per conversation), worst on top.

    ``ordered``: keep the frame's row order (bins such as age bands), all rows.
    """
    if frame.empty:
        return _empty(title, "nothing to show: no offending rows")
    data = frame if ordered else frame.nlargest(top, y)
    if not isinstance(x, str):  # several key columns: label bars "c1 · 4"
        label = " · ".join(x)
        data = data.assign(**{label: data[list(x)].astype(str).agg(" · ".join, axis=1)})
        x = label
    color = LEVEL_COLORS[level] if level is not None else "#1565c0"
    if horizontal:
        data = data.iloc[::-1]
        trace = go.Bar(x=data[y], y=data[x].astype(str), orientation="h", marker_color=color)
    else:
        trace = go.Bar(x=data[x].astype(str), y=data[y], marker_color=color)
    height = max(240, 28 * len(data) + 100) if horizontal else _LAYOUT["height"]
    fig = go.Figure(trace, layout={**_LAYOUT, "title": title, "height": height})
    fig.update_layout(xaxis_title=y if horizontal else x, yaxis_title=x if horizontal else y)
    return fig


def findings_overview(findings: Iterable[Finding], *, title: str = "Findings") -> go.Figure:
    """One coloured tile per check: the whole investigation's verdict in one picture."""
    items = list(findings)
    if not items:
        return _empty(title, "no checks ran")
    order = sorted(items, key=lambda f: (-int(f.level), f.check))
    fig = go.Figure(
        go.Bar(
            x=[1] * len(order),
            y=[f.check for f in order],
            orientation="h",
            marker_color=[LEVEL_COLORS[f.level] for f in order],
            text=[f"{f.level}: {f.title}" for f in order],
            textposition="inside",
            insidetextanchor="start",
            hovertext=[f.detail or f.title for f in order],
            hoverinfo="text",
        ),
        layout={**_LAYOUT, "title": title, "height": max(200, 34 * len(order) + 90)},
    )
    fig.update_xaxes(visible=False, range=[0, 1])
    fig.update_yaxes(autorange="reversed")
    fig.update_layout(showlegend=False, bargap=0.15)
    return fig


def compare(
    frame: pd.DataFrame, *, x: str, ys: Sequence[str], title: str, top: int = 20
) -> go.Figure:
    """Side-by-side bars of ``ys`` per ``x`` (stored epoch vs newest commit epoch)."""
    if frame.empty:
        return _empty(title, "nothing to show: no offending rows")
    data = frame.head(top)
    fig = go.Figure(
        [go.Bar(name=y, x=data[x].astype(str), y=data[y]) for y in ys],
        layout={**_LAYOUT, "title": title, "barmode": "group"},
    )
    return fig


def events_over_time(
    frame: pd.DataFrame, *, title: str, by: str = "level", freq: str = "1min"
) -> go.Figure:
    """Log lines per ``freq`` stacked by ``by``: when did the errors start?"""
    if frame.empty or "ts" not in frame:
        return _empty(title, "no log lines in the window")
    colors = {
        "ERROR": LEVEL_COLORS[Level.CRITICAL],
        "WARN": LEVEL_COLORS[Level.WARNING],
        "WARNING": LEVEL_COLORS[Level.WARNING],
        "INFO": LEVEL_COLORS[Level.INFO],
    }
    keys = frame[by].astype("string").fillna("?").str.upper() if by in frame else "lines"
    counts = (
        frame.assign(_key=keys, _bucket=frame["ts"].dt.floor(freq))
        .groupby(["_bucket", "_key"], observed=True)
        .size()
        .rename("lines")
        .reset_index()
    )
    fig = go.Figure(
        layout={**_LAYOUT, "title": title, "barmode": "stack", "yaxis_title": f"lines per {freq}"}
    )
    for key, group in counts.groupby("_key", sort=True):
        fig.add_trace(
            go.Bar(
                x=group["_bucket"],
                y=group["lines"],
                name=str(key),
                marker_color=colors.get(str(key)),
            )
        )
    return fig
