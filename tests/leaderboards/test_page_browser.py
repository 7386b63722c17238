"""The leaderboard site in headless Chromium, from file://: no console errors, sorting by a header click,
every image and link resolving, and hostile names, options and captions shown as text, never run.

Skipped when no Chromium is installed (CI installs Debian's `chromium`); playwright drives it, never downloads.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from eval.atomic import write_json_atomic
from eval.results import write_result
from leaderboards.render import render_leaderboard
from tests.leaderboards.conftest import make_result, with_images, write_stimuli_root

CHROMIUM = Path(os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium")
LAUNCH_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
HOSTILE_NAME = "<script>window.__pwned = 'name'</script>"
HOSTILE_OPTION = "<img src=x onerror=\"window.__pwned = 'option'\">"
HOSTILE_CAPTIONS = ("<script>window.__pwned = 'caption'</script> a cat", "<img src=x onerror=alert('caption')> a dog")
IMAGES_JS = "imgs => imgs.map(i => [i.getAttribute('src'), i.naturalWidth])"  # 0: the image did not load
# PixCorr per decoder for subject 1: the sort test expects exactly this order.
PIXCORR = {"ridge": 0.25, "havir": 0.41, "nearest_neighbour": 0.12}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """index.html of results for subjects 1 and 2 with reconstructions, ground truth, captions and hostile text."""
    base = tmp_path_factory.mktemp("site")
    root = write_stimuli_root(base / "nsd", captions={k: HOSTILE_CAPTIONS[k % 2] for k in range(12)})
    results = base / "results"
    for subject in (1, 2):
        for n, (decoder, pixcorr) in enumerate(PIXCORR.items()):
            kind = {"havir": "method", "ridge": "baseline"}.get(decoder, "reference")
            metrics = {"pixcorr": pixcorr + subject / 100, "ssim": 0.3 + n / 10, "alexnet2": 0.6 + n / 20,
                       "effnet": 0.9 - n / 10}
            result = make_result(decoder, subject, metrics, kind=kind)
            write_result(results, with_images(result, results, root, seed=subject * 10 + n))
        variant = make_result("havir", subject, {"pixcorr": 0.3, "ssim": 0.2}, kind="method",
                              variant={"prompt": HOSTILE_OPTION})
        write_result(results, with_images(variant, results, root, seed=subject))
        # A name the writer refuses in a file name can still come in a hand-written file.
        hostile = with_images(make_result(HOSTILE_NAME, subject, {"pixcorr": 0.2, "ssim": 0.1}), results, root)
        write_json_atomic(results / f"hand-written-{subject}.json", hostile.to_dict())
    return render_leaderboard(results, base / "site")


@dataclass
class Browsed:
    """A page and what it reported: console messages, page errors, dialogs; `shots` keeps a failure screenshot."""

    page: object
    console: list[str]
    errors: list[str]
    dialogs: list[str]
    shots: Path


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not CHROMIUM.is_file():
        pytest.skip(f"no Chromium at {CHROMIUM}: install Debian's chromium (apt-get install -y chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install playwright)")
    with sync_api.sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_FLAGS)
        yield launched
        launched.close()


@pytest.fixture()
def browsed(browser, tmp_path: Path) -> Iterator[Browsed]:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    found = Browsed(page, [], [], [], tmp_path)
    page.on("console", lambda m: found.console.append(f"{m.type}: {m.text}"))
    page.on("pageerror", lambda e: found.errors.append(str(e)))

    def dismiss(dialog) -> None:
        found.dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", dismiss)
    yield found
    page.close()


def pages_of(site: Path) -> list[Path]:
    return [site, *sorted((site.parent / "decoders").glob("*.html"))]


@dataclass
class Visit:
    """What one page showed: its images as (src, natural width), its link targets and the anchors it holds."""

    path: Path
    images: list[tuple[str, int]]
    hrefs: list[str]
    ids: set[str]


@pytest.fixture(scope="module")
def visits(site: Path, browser) -> tuple[list[Visit], list[str], list[str]]:
    """Every page opened once from file://: what each showed, and the console errors and page errors seen."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    console, errors, seen = [], [], []
    page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
    page.on("pageerror", lambda e: errors.append(str(e)))
    for path in pages_of(site):
        page.goto(path.as_uri(), wait_until="load")
        seen.append(Visit(
            path,
            [tuple(i) for i in page.eval_on_selector_all("img", IMAGES_JS)],
            page.eval_on_selector_all("a[href]", "links => links.map(a => a.getAttribute('href'))"),
            set(page.eval_on_selector_all("[id]", "nodes => nodes.map(n => n.id)")),
        ))
    page.close()
    return seen, [m for m in console if m.startswith("error")], errors


def show(browsed: Browsed, path: Path) -> None:
    """Open `path` in the test's page, so a failure screenshot shows the page that failed."""
    browsed.page.goto(path.as_uri(), wait_until="load")


def test_every_page_loads_from_file_without_console_errors(site: Path, visits, browsed: Browsed) -> None:
    seen, console_errors, page_errors = visits
    assert len(seen) == 1 + 10  # the index and one page per results file
    if console_errors or page_errors:
        show(browsed, site)
    assert console_errors == [] and page_errors == [], f"console errors: {console_errors}, page errors: {page_errors}"


def column_labels(page, table_id: str) -> list[str]:
    return page.eval_on_selector_all(f"#{table_id} tbody tr td.name", "cells => cells.map(c => c.dataset.sort)")


def test_clicking_a_header_sorts_rows_by_value_and_a_second_click_reverses(site: Path, browsed: Browsed) -> None:
    page = browsed.page
    page.goto(site.as_uri())
    table = "g1-s01-table"
    before = column_labels(page, table)
    assert before[0] == "nearest_neighbour"  # the model's order: reference decoders first
    page.click(f"#{table} thead th:nth-child(2) button")  # PixCorr, higher is better: best first
    by_value = ["havir", "havir \u00b7 prompt=" + HOSTILE_OPTION, "ridge", HOSTILE_NAME, "nearest_neighbour"]
    assert column_labels(page, table) == by_value
    assert page.get_attribute(f"#{table} thead th:nth-child(2)", "aria-sort") == "descending"
    page.click(f"#{table} thead th:nth-child(2) button")
    assert column_labels(page, table) == by_value[::-1]
    assert page.get_attribute(f"#{table} thead th:nth-child(2)", "aria-sort") == "ascending"
    # The keyboard reaches the same control: EffNet-B (lower is better) via Enter sorts smallest first.
    effnet = page.locator(f"#{table} thead th:nth-child(5) button")
    effnet.focus()
    page.keyboard.press("Enter")
    values = page.eval_on_selector_all(f"#{table} tbody tr td:nth-child(5)", "cells => cells.map(c => c.dataset.sort)")
    present = [v for v in values if v != ""]
    assert [float(v) for v in present] == sorted(float(v) for v in present)
    assert values == present + [""] * (len(values) - len(present))  # missing values sort last


def local_target(page_path: Path, href: str) -> Path | None:
    parsed = urlparse(href)
    if parsed.scheme in ("http", "https", "data", "mailto") or not parsed.path:
        return None
    return (page_path.parent / unquote(parsed.path)).resolve()


def test_every_image_and_link_resolves(visits, browsed: Browsed) -> None:
    seen, _, _ = visits
    for visit in seen:
        broken = [src for src, width in visit.images if width == 0]
        anchors = [h for h in visit.hrefs if h.startswith("#") and h[1:] not in visit.ids]
        missing = [h for h in visit.hrefs if (t := local_target(visit.path, h)) is not None and not t.exists()]
        if broken or anchors or missing:
            show(browsed, visit.path)
        assert broken == [], f"{visit.path.name}: broken images {broken}"
        assert anchors == [], f"{visit.path.name}: links to anchors the page lacks: {anchors}"
        assert missing == [], f"{visit.path.name}: links to files that do not exist: {missing}"
    # Plots on the index, ground truth and reconstructions on every decoder page.
    assert sum(len(v.images) for v in seen) > 10 * 2 * 4


def test_hostile_names_options_and_captions_are_shown_as_text(site: Path, browsed: Browsed) -> None:
    page = browsed.page
    page.goto(site.as_uri())
    assert page.get_by_text(HOSTILE_NAME, exact=True).first.is_visible()
    assert page.get_by_text(HOSTILE_OPTION, exact=False).first.is_visible()
    hostile_page = next(p for p in pages_of(site)[1:] if p.name.startswith("hand-written-1"))
    page.goto(hostile_page.as_uri())
    page.wait_for_load_state("load")
    assert page.locator("h1").inner_text().startswith(HOSTILE_NAME)
    captions = page.eval_on_selector_all("figcaption .cap", "caps => caps.map(c => c.textContent)")
    assert set(captions) == set(HOSTILE_CAPTIONS)
    assert page.get_by_text(HOSTILE_CAPTIONS[1], exact=True).first.is_visible()
    assert page.evaluate("window.__pwned") is None
    assert browsed.dialogs == [] and browsed.errors == []
