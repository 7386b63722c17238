"""Where a result came from: this harness's version, its git commit, installed package versions, and when."""

from __future__ import annotations

import re
import subprocess
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from eval.results.schema import HarnessInfo

DEFAULT_PACKAGES = (
    "torch",
    "torchvision",
    "numpy",
    "scipy",
    "scikit-image",
    "diffusers",
    "transformers",
    "open_clip_torch",
    "timm",
)


def utc_now() -> str:
    """Now, ISO-8601 in UTC to the second ('2025-01-31T12:00:00+00:00')."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def harness_info(packages: tuple[str, ...] = DEFAULT_PACKAGES) -> HarnessInfo:
    """This harness's version, git commit (None outside a checkout) and the installed versions of `packages`."""
    versions = {}
    for name in packages:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    try:
        version = metadata.version("havir-bench")
    except metadata.PackageNotFoundError:
        version = "unknown"
    return HarnessInfo(version=version, git_commit=git_commit(), packages=versions)


def git_commit() -> str | None:
    """The commit checked out where this file lies, or None (not a git checkout, or git missing)."""
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = done.stdout.strip()
    return commit if done.returncode == 0 and re.fullmatch(r"[0-9a-f]{40}", commit) else None
