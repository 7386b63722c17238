"""What a reader's browser loads for the leaderboard site: its pages and the images they show."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote


def page_bytes(index: Path) -> int:
    """Bytes of index.html, every decoder page and every image they show (each file counted once)."""
    pages = [index, *sorted((index.parent / "decoders").glob("*.html"))]
    shown = {p.resolve() for p in pages}
    for page in pages:
        for src in re.findall(r'<img src="([^"]+)"', page.read_text(encoding="utf-8")):
            shown.add((page.parent / unquote(src)).resolve())
    return sum(p.stat().st_size for p in shown)
