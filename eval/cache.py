"""Where the harness keeps what it can recompute: generated SynthNSD, prepared subjects, features.

Cache keys are content hashes plus every parameter that changes the content, so a stale entry is never reused.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import platformdirs

from eval.atomic import _umask
from eval.errors import HarnessError

CACHE_ENV = "HAVIR_BENCH_CACHE"


def cache_root(explicit: str | os.PathLike[str] | None = None) -> Path:
    """`explicit`, else $HAVIR_BENCH_CACHE, else the user cache folder (never inside the package)."""
    if explicit:
        return Path(explicit).expanduser()
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    return Path(platformdirs.user_cache_dir("havir-bench"))


def stable_hash(obj: Any, length: int = 64) -> str:
    """sha256 of a JSON-serialisable object with sorted keys."""
    text = json.dumps(obj, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:length]


@contextmanager
def atomic_folder(target: Path) -> Iterator[Path]:
    """Yield a temporary sibling folder; on success it becomes `target` in one rename.

    If another process created `target` meanwhile, its folder wins and ours is discarded.
    """
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
        os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes 0700; the final folder gets the usual permissions
    except OSError as exc:
        raise HarnessError(f"cannot write to folder {target.parent}: {exc.strerror or exc}") from exc
    try:
        yield tmp
        try:
            os.replace(tmp, target)
        except OSError:
            if not target.is_dir():
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
