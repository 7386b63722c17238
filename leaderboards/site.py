"""The leaderboard site: index.html (tables, figures, ablations, reported numbers) and one page per run identity
under decoders/, with figures in plots/ and thumbnails in thumbs/ beside them. Works offline from file://."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import jinja2

from eval.atomic import write_text_atomic
from leaderboards.collect import LoadedResult, Skipped
from leaderboards.decoder_page import decoder_view, href
from leaderboards.gallery import GroundTruth
from leaderboards.labels import variant_key
from leaderboards.reported import ReportedRow
from leaderboards.table import Table, TableKey
from leaderboards.views import PageLinks, group_views, skipped_view

log = logging.getLogger(__name__)

TEMPLATE = "leaderboard.html.j2"
DECODER_TEMPLATE = "decoder.html.j2"
PAGE_TITLE = "havir-bench leaderboard"


def environment() -> jinja2.Environment:
    """Templates from this package's folder; autoescape on, a missing field is an error, not a blank."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).with_name("templates")),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def decoder_pages(loaded: Sequence[LoadedResult], folder: Path) -> dict[Path, Path]:
    """Results file -> its decoder page: `folder/<results file stem>.html` (a number added if two stems meet)."""
    pages: dict[Path, Path] = {}
    taken: set[str] = set()
    for item in loaded:
        stem, k = item.path.stem, 1
        while stem in taken:
            k += 1
            stem = f"{item.path.stem}-{k}"
        taken.add(stem)
        pages[item.path] = folder / f"{stem}.html"
    return pages


def page_links(loaded: Sequence[LoadedResult], pages: Mapping[Path, Path], out: Path) -> PageLinks:
    links = PageLinks()
    for item in loaded:
        key, target = TableKey.of(item.result), href(pages[item.path], out)
        links.by_identity[(key, item.result.identity.short_hash())] = target
        links.by_variant[(key, variant_key(item.result))].append((item.result.subject, target))
    return links


def write_site(
    loaded: Sequence[LoadedResult],
    tables: Sequence[Table],
    out: Path,
    *,
    skipped: Sequence[Skipped] = (),
    extras: Mapping[TableKey, Mapping[str, Any]] | None = None,
    reported: Mapping[str, Any] | None = None,
    reported_rows: Sequence[ReportedRow] = (),
    n_test: Mapping[TableKey, int | None] | None = None,
    title: str = PAGE_TITLE,
) -> Path:
    """Write index.html and the decoder pages (atomically, each); returns index.html's path.

    Args:
        loaded: Every results file shown.
        tables: Their tables (`build_tables`).
        out: The site's folder.
        skipped: Files left out, each with `path` and `reason`, listed at the top of the page.
        extras: Per table key, more sections of its group (`ablations`).
        reported: The reported-numbers section (see `sections.reported_view`), or None.
        reported_rows: Reported numbers; those that compare with a table join it, ranked.
        n_test: Per table key, its results' test-set size.
    """
    out = Path(out)
    env = environment()
    index = out / "index.html"
    pages = decoder_pages(loaded, out / "decoders")
    ground_truth: dict[str, GroundTruth] = {}
    for item in loaded:
        root = item.result.dataset.root
        gt = ground_truth.setdefault(root, GroundTruth(root))
        view = decoder_view(item, pages[item.path], index, out / "thumbs", gt)
        write_text_atomic(pages[item.path], env.get_template(DECODER_TEMPLATE).render(page=view))
    groups = group_views(tables, page_links(loaded, pages, out), out / "plots", out, extras, reported_rows, n_test)
    summary = f"{len(loaded)} results file{'s' if len(loaded) != 1 else ''}, {len(groups)} comparable group" + (
        "s" if len(groups) != 1 else "")
    html = env.get_template(TEMPLATE).render(
        title=title,
        summary=summary,
        groups=groups,
        skipped=skipped_view(skipped),
        reported=reported,
    )
    log.info("leaderboard: %s (%d tables, %d decoder pages)", index, len(tables), len(pages))
    return write_text_atomic(index, html)
