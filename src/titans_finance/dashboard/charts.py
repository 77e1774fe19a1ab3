"""Plotly figure builders shared by the pages (frame in, styled figure out)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from titans_finance import domain as d
from titans_finance.dashboard import palette as p


def spending_sunburst(merchants: pd.DataFrame) -> go.Figure:
    """Spending by category, then merchant, from an `insights.top_merchants` table.

    Built as a `go.Sunburst` (category sectors holding their merchants' totals), the figure
    ``px.sunburst(path=[category, merchant])`` draws, without importing Plotly Express."""
    leaves = merchants.groupby([d.CATEGORY, d.MERCHANT], sort=True)["spent"].sum()
    totals = leaves.groupby(level=0).sum()
    categories = leaves.index.get_level_values(0).astype(str)
    names = leaves.index.get_level_values(1).astype(str)
    fig = go.Figure(
        go.Sunburst(
            ids=[*(categories + "/" + names), *totals.index.astype(str)],
            labels=[*names, *totals.index.astype(str)],
            parents=[*categories, *[""] * len(totals)],
            values=[*leaves.to_numpy(), *totals.to_numpy()],
            branchvalues="total",
            hovertemplate="%{label}<br>%{value:,.2f}<br>%{percentRoot:.1%} of spending",
        )
    )
    fig.update_layout(sunburstcolorway=p.CATEGORICAL)
    return p.style_figure(fig, height=460)


def balance_trend(balance: dict[str, Any]) -> go.Figure:
    """Daily balance from `insights.balance_points`: reported balances when the export has
    them, else the cumulative net."""
    points = balance["points"]
    title = (
        "Daily balance (reported by the bank, all accounts)"
        if balance["reported"]
        else "Cumulative net cash flow (no balances in the export)"
    )
    fig = go.Figure(
        go.Scatter(
            x=pd.to_datetime([point["date"] for point in points]),
            y=[point["value"] for point in points],
            mode="lines",
            line={"color": p.NET, "width": 2},
            fill="tozeroy",
            fillcolor="rgba(59, 111, 182, 0.10)",
            name="balance",
        )
    )
    fig.update_layout(title=title, yaxis_title="amount", xaxis_title=None)
    return p.style_figure(fig)


def monthly_income_expenses(by_month: list[dict[str, Any]]) -> go.Figure:
    """Grouped bars of income and expenses per month with the net as a line."""
    months = [row["month"] for row in by_month]
    fig = go.Figure()
    fig.add_bar(x=months, y=[r["income"] for r in by_month], name="Income", marker_color=p.INCOME)
    fig.add_bar(
        x=months, y=[r["expenses"] for r in by_month], name="Expenses", marker_color=p.EXPENSE
    )
    fig.add_scatter(
        x=months,
        y=[r["net"] for r in by_month],
        name="Net",
        mode="lines+markers",
        line={"color": p.NET},
    )
    fig.update_layout(barmode="group", title="Monthly income vs expenses", xaxis_title=None)
    return p.style_figure(fig)


def binned_bars(
    values: pd.Series,
    groups: pd.Series,
    edges: np.ndarray,
    colours: dict[str, str],
    order: list[str] | None = None,
) -> go.Figure:
    """A histogram drawn from counts binned here (not 100k raw points sent to the browser)."""
    fig = go.Figure()
    centres = (edges[:-1] + edges[1:]) / 2
    width = float(edges[1] - edges[0]) if len(edges) > 1 else 1.0
    names = order or sorted(str(g) for g in groups.dropna().unique())
    for name in names:
        counts, _ = np.histogram(values[groups == name], bins=edges)
        if counts.any():
            fig.add_bar(
                x=centres,
                y=counts,
                width=width,
                name=name,
                marker_color=colours.get(name, p.TRANSFER),
                hovertemplate=f"{name}: %{{y}} around %{{x:,.2f}}<extra></extra>",
            )
    fig.update_layout(barmode="stack", bargap=0)
    return fig


def amount_distribution(frame: pd.DataFrame) -> go.Figure:
    """Histogram of absolute amounts by type, up to the 99th percentile (the tail is noted)."""
    size = frame[d.AMOUNT].abs()
    cap = float(size.quantile(0.99)) if len(size) else 0.0
    kinds = frame[d.TYPE].fillna("Unknown").astype(str)
    kept = size <= cap
    edges = np.linspace(0.0, max(cap, 1.0), 51)
    fig = binned_bars(size[kept], kinds[kept], edges, p.TYPE_COLOURS)
    above = int((~kept).sum())
    fig.update_xaxes(title="amount (absolute)")
    fig.update_yaxes(title="transactions")
    fig.update_layout(
        title="Amount distribution" + (f" ({above:,} above {cap:,.0f} not shown)" if above else "")
    )
    return p.style_figure(fig)


def payment_methods(frame: pd.DataFrame) -> go.Figure:
    """Volume and count per payment method; per account when the export has no methods."""
    has_methods = d.PAYMENT_METHOD in frame and frame[d.PAYMENT_METHOD].notna().any()
    column = d.PAYMENT_METHOD if has_methods else d.ACCOUNT
    label = "payment method" if has_methods else "account"
    work = frame.assign(group=frame[column].fillna("not given").astype(str))
    table = (
        work.groupby("group")
        .agg(transactions=(d.AMOUNT, "size"), volume=(d.AMOUNT, lambda s: s.abs().sum()))
        .reset_index()
        .sort_values("volume", ascending=True)
    )
    fig = go.Figure(
        go.Bar(
            x=table["volume"],
            y=table["group"],
            orientation="h",
            customdata=table[["transactions"]],
            marker_color=p.NET,
            hovertemplate=f"{label}=%{{y}}<br>volume (absolute)=%{{x}}"
            "<br>transactions=%{customdata[0]}<extra></extra>",
        )
    )
    fig.update_layout(
        title="Payment methods" if has_methods else "Volume by account (no payment methods)",
        xaxis_title="volume (absolute)",
        yaxis_title=label,
    )
    return p.style_figure(fig)


def category_bars(by_category: list[dict[str, Any]], *, top: int = 15) -> go.Figure:
    """Horizontal bars of spending per category (largest on top)."""
    rows = by_category[:top][::-1]
    fig = go.Figure(
        go.Bar(
            x=[r["amount"] for r in rows],
            y=[r["category"] for r in rows],
            orientation="h",
            marker_color=p.EXPENSE,
            customdata=[r["share"] for r in rows],
            hovertemplate="%{y}: %{x:,.2f} (%{customdata:.1%})<extra></extra>",
        )
    )
    fig.update_layout(title=f"Top {min(top, len(by_category))} spending categories")
    return p.style_figure(fig)


def summary_of(frame: pd.DataFrame, excluded: list[str]) -> dict[str, Any]:
    """insights.summarize with the user's excluded categories (for `state.derived`)."""
    from titans_finance.insights import summarize

    return summarize(frame, exclude_categories=excluded)


def distribution_of(frame: pd.DataFrame, _excluded: list[str]) -> go.Figure:
    """The amount distribution (for `state.derived`)."""
    return amount_distribution(frame)


def methods_of(frame: pd.DataFrame, _excluded: list[str]) -> go.Figure:
    """The payment-method chart (for `state.derived`)."""
    return payment_methods(frame)


__all__ = [
    "amount_distribution",
    "balance_trend",
    "binned_bars",
    "category_bars",
    "distribution_of",
    "methods_of",
    "monthly_income_expenses",
    "payment_methods",
    "spending_sunburst",
    "summary_of",
]
