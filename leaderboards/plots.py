"""Static figures for the leaderboard pages: per-metric bars with 95% intervals (matplotlib, Agg, SVG) and the
geometry of small per-image histograms that the decoder page draws as inline SVG.

Figures are named by a hash of what they show, so re-rendering an unchanged table draws nothing.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from eval.atomic import atomic_path

PLOT_VERSION = "3"  # bump when the drawing changes, so cached figures are redrawn
BAR_COLOUR = "#9db7d5"
BEST_COLOUR = "#1f4e8c"
MAX_LABEL = 38


@dataclass(frozen=True)
class Panel:
    """One metric of a bar figure, values in the unit shown (identification in percent).

    Attributes:
        title: Metric name and arrow ('PixCorr ↑').
        values: One value per row label, None where absent.
        ci95: One (low, high) per row, None where absent.
        best: Per row, whether the value is marked best.
    """

    title: str
    values: tuple[float | None, ...]
    ci95: tuple[tuple[float, float] | None, ...]
    best: tuple[bool, ...]


def _plain_text(text: str) -> str:
    """A label as matplotlib should print it: '$' would start mathtext; long labels are cut."""
    text = text if len(text) <= MAX_LABEL else text[: MAX_LABEL - 1] + "\u2026"
    return text.replace("$", r"\$")


def figure_name(labels: Sequence[str], panels: Sequence[Panel]) -> str:
    """A file name from the figure's content: same data, same name."""
    content = json.dumps([PLOT_VERSION, list(labels), [asdict(p) for p in panels]], sort_keys=True)
    return "bars-" + hashlib.sha256(content.encode("utf-8")).hexdigest()[:16] + ".svg"


def _panel_range(panel: Panel) -> tuple[float, float]:
    """The value range a panel's axis spans: from min(0, lowest) to the highest value or interval end."""
    ends = [v for v in panel.values if v is not None]
    ends += [end for ci in panel.ci95 if ci for end in ci]
    low, high = min([0.0, *ends]), max([0.0, *ends])
    return low, (high if high > low else low + 1.0)


def _bar(start: float, end: float, y: float, height: float = 0.7) -> list[tuple[float, float]]:
    """The corners of a horizontal bar from x `start` to `end`, centred on `y`."""
    return [(start, y - height / 2), (end, y - height / 2), (end, y + height / 2), (start, y + height / 2)]


def metric_bars(labels: Sequence[str], panels: Sequence[Panel], folder: Path) -> Path:
    """Small multiples, one panel per metric: a horizontal bar per row with its 95% interval, best in dark blue.

    Every panel is drawn into one axes with its own scale (its range printed under it): one axes, not one per
    metric, keeps a figure to a few tens of milliseconds.

    Args:
        labels: Row labels, top to bottom.
        panels: One per metric.
        folder: Where the SVG goes (its name is `figure_name`); an existing file of that name is kept.

    Returns:
        The SVG's path.
    """
    path = Path(folder) / figure_name(labels, panels)
    if path.is_file():
        return path
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.collections import PolyCollection
    from matplotlib.figure import Figure

    n_rows, per_line = len(labels), min(4, len(panels))
    lines = math.ceil(len(panels) / per_line)
    gap, step = 0.25, n_rows + 2.2  # panel width 1 plus a gap; each line of panels: its bars, title and range
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "havir-bench", "font.size": 7}):
        fig = Figure(figsize=(1.7 + 2.1 * per_line, 0.22 * step * lines + 0.1))
        ax = fig.add_axes((1.6 / (1.7 + 2.1 * per_line), 0.0, 1 - 1.7 / (1.7 + 2.1 * per_line), 1.0))
        ax.set_axis_off()
        for k, panel in enumerate(panels):
            x0, y0 = (k % per_line) * (1 + gap), (k // per_line) * step
            low, high = _panel_range(panel)
            span = high - low

            def at(v: float, x0: float = x0, low: float = low, span: float = span) -> float:
                return x0 + (v - low) / span

            ys = np.array([y0 + 1.2 + r for r in range(n_rows)])
            shown = [r for r, v in enumerate(panel.values) if v is not None]
            # One collection per panel for the bars and one for the intervals: artists, not calls, cost the time.
            ax.add_collection(PolyCollection(
                [_bar(at(0.0), at(panel.values[r]), ys[r]) for r in shown], edgecolors="none", linewidths=0,
                facecolors=[BEST_COLOUR if panel.best[r] else BAR_COLOUR for r in shown]), autolim=False)
            spans = [r for r in shown if panel.ci95[r] is not None]
            if spans:
                ax.hlines(ys[spans], [at(panel.ci95[r][0]) for r in spans], [at(panel.ci95[r][1]) for r in spans],
                          color="#333333", linewidth=0.8)
            ax.plot([at(0.0), at(0.0)], [y0 + 0.7, y0 + 1.7 + n_rows - 1], color="#555555", linewidth=0.6)
            ax.text(x0 + 0.5, y0 + 0.4, _plain_text(panel.title), ha="center", va="center", fontsize=8)
            ax.text(x0, y0 + n_rows + 1.15, f"{low:.3g}", ha="left", va="center", fontsize=6, color="#555555")
            ax.text(x0 + 1, y0 + n_rows + 1.15, f"{high:.3g}", ha="right", va="center", fontsize=6, color="#555555")
            if k % per_line == 0:
                for y, label in zip(ys, labels):
                    ax.text(x0 - 0.04, y, _plain_text(label), ha="right", va="center", fontsize=6.5)
        ax.set_xlim(-0.02, per_line * (1 + gap) - gap + 0.02)
        ax.set_ylim(lines * step, 0)  # first row on top, as in the table
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="svg")
    return path


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class Histogram:
    """A histogram laid out in a `width` x `height` box (SVG user units), with the mean's x position."""

    width: int
    height: int
    bars: tuple[Bar, ...]
    mean_x: float
    low: float
    high: float


def histogram(values: Sequence[float], bins: int = 20, width: int = 180, height: int = 48) -> Histogram:
    """Per-image scores binned between their minimum and maximum, the tallest bin filling the height."""
    data = np.asarray(values, dtype=float)
    data = data[np.isfinite(data)]
    if data.size == 0:
        return Histogram(width, height, (), 0.0, math.nan, math.nan)
    low, high = float(data.min()), float(data.max())
    span = high - low or 1.0
    counts, _ = np.histogram(data, bins=bins, range=(low, low + span))
    step = width / bins
    tallest = max(int(counts.max()), 1)
    bars = tuple(
        Bar(round(k * step, 2), round(height - height * c / tallest, 2), round(step - 1, 2),
            round(height * c / tallest, 2))
        for k, c in enumerate(counts)
        if c
    )
    return Histogram(width, height, bars, round(width * (float(data.mean()) - low) / span, 2), low, high)
