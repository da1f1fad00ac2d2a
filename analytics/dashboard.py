"""The shape every dashboard page has: KPIs, charts and tables, exportable as CSV and JSON."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field

import plotly.graph_objects as go


@dataclass
class Table:
    name: str
    title: str
    header: list[str]
    rows: list[list[object]]


@dataclass
class Chart:
    name: str
    title: str
    figure: dict  # plotly figure as plain JSON (data + layout)

    @property
    def is_empty(self) -> bool:
        return not any(
            trace.get("x") or trace.get("y") or trace.get("values")
            for trace in self.figure.get("data", [])
        )


@dataclass
class Dashboard:
    title: str
    kpis: list[tuple[str, object]] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    definition: list[str] = field(default_factory=list)  # what the page's figures mean
    is_empty: bool = False

    def table(self, name: str) -> Table | None:
        return next((table for table in self.tables if table.name == name), None)

    def as_json(self) -> dict:
        return {
            "title": self.title,
            "kpis": {label: value for label, value in self.kpis},
            "tables": {
                t.name: [dict(zip(t.header, row, strict=False)) for row in t.rows]
                for t in self.tables
            },
            "charts": {c.name: c.figure.get("data", []) for c in self.charts},
        }


def figure_json(figure: go.Figure) -> dict:
    """Plain JSON for Plotly.newPlot (numpy arrays become lists)."""
    figure.update_layout(
        margin={"l": 50, "r": 20, "t": 30, "b": 50}, height=320, template="plotly_white"
    )
    return json.loads(figure.to_json())


def bar(name: str, title: str, x: list, y: list, *, x_title: str = "", y_title: str = "") -> Chart:
    figure = go.Figure(go.Bar(x=x, y=y))
    figure.update_layout(xaxis_title=x_title, yaxis_title=y_title)
    return Chart(name, title, figure_json(figure))


def line(name: str, title: str, x: list, series: dict[str, list], *, y_title: str = "") -> Chart:
    figure = go.Figure(
        [
            go.Scatter(x=x, y=values, mode="lines+markers", name=label)
            for label, values in series.items()
        ]
    )
    figure.update_layout(yaxis_title=y_title)
    return Chart(name, title, figure_json(figure))


def histogram(
    name: str, title: str, counts: list[int], edges: list[float], *, x_title: str = ""
) -> Chart:
    centers = [round((a + b) / 2, 2) for a, b in itertools.pairwise(edges)]
    widths = [round(b - a, 2) for a, b in itertools.pairwise(edges)]
    figure = go.Figure(go.Bar(x=centers, y=counts, width=widths))
    figure.update_layout(xaxis_title=x_title, yaxis_title="leads", bargap=0.02)
    return Chart(name, title, figure_json(figure))


def pie(name: str, title: str, labels: list, values: list) -> Chart:
    return Chart(
        name, title, figure_json(go.Figure(go.Pie(labels=labels, values=values, hole=0.4)))
    )
