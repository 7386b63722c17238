"""The one error type the harness shows to a user.

Anything raised as `HarnessError` reaches the command line as a single line ("error: ...") and a non-zero
exit; every other exception is a bug and keeps its traceback. Messages name the file or argument, what was
expected and what was found.
"""

from __future__ import annotations

import sys
from collections.abc import Callable


class HarnessError(Exception):
    """A problem with the user's input, files or environment, explained in one line."""

    exit_code = 2


class DataError(HarnessError):
    """An NSD (or SynthNSD) file is missing, malformed or inconsistent."""


class OlderSchemaError(DataError):
    """A results file written by an earlier version of havir-bench, under a schema this one no longer reads."""


class ConfigError(HarnessError):
    """A command-line argument or configuration value is invalid."""


class InputError(HarnessError):
    """Arrays handed to a metric or decoder have the wrong count, shape, dtype or values."""


def run_cli(action: Callable[[], object]) -> int:
    """Run a command-line action: a HarnessError becomes one line on stderr and its exit code."""
    try:
        action()
    except HarnessError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("error: interrupted; files written so far are complete, none is half-written", file=sys.stderr)
        return 130
    return 0
