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

PLOT_VERSION = "1"  # bump when the drawing changes, so cached figures are redrawn
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


def metric_bars(labels: Sequence[str], panels: Sequence[Panel], folder: Path) -> Path:
    """Small multiples, one panel per metric: a horizontal bar per row with its 95% interval, best in dark blue.

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
    from matplotlib.figure import Figure

    n_rows, n_cols = len(labels), min(4, len(panels))
    grid_rows = math.ceil(len(panels) / n_cols)
    # Sizes in inches: a bar per row, room above each panel for its title and below for its ticks.
    bars_h, title_h, ticks_h, left_w = 0.2 * n_rows + 0.1, 0.3, 0.25, 1.7
    width, height = left_w + 2.2 * n_cols, grid_rows * (bars_h + title_h + ticks_h)
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "havir-bench", "font.size": 7}):
        fig = Figure(figsize=(width, height))
        axes = np.atleast_1d(fig.subplots(grid_rows, n_cols, sharey=True, squeeze=False)).ravel()
        y = np.arange(n_rows)
        for ax, panel in zip(axes, panels):
            values = np.array([np.nan if v is None else v for v in panel.values], dtype=float)
            low = np.array([v - ci[0] if ci and v is not None else 0 for v, ci in zip(panel.values, panel.ci95)])
            high = np.array([ci[1] - v if ci and v is not None else 0 for v, ci in zip(panel.values, panel.ci95)])
            colours = [BEST_COLOUR if b else BAR_COLOUR for b in panel.best]
            ax.barh(y, np.nan_to_num(values), xerr=np.abs(np.vstack([low, high])), color=colours, height=0.7,
                    error_kw={"elinewidth": 0.8, "capsize": 1.5, "ecolor": "#333333"})
            ax.set_title(_plain_text(panel.title), fontsize=8, pad=3)
            ax.tick_params(labelsize=6.5, length=2, pad=1)
            ax.spines[["top", "right"]].set_visible(False)
        for ax in axes[len(panels):]:
            ax.set_visible(False)
        axes[0].set_yticks(y, [_plain_text(label) for label in labels])
        axes[0].invert_yaxis()  # the first row on top, as in the table
        fig.subplots_adjust(left=left_w / width, right=0.98, top=1 - title_h / height,
                            bottom=ticks_h / height, wspace=0.25, hspace=(title_h + ticks_h) / bars_h)
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
