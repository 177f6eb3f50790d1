"""Flags of the original DESC TOM's commands that scripts and deployments still pass.

Where an original flag means what one of ours means, the command declares it as an alias
(``-d`` beside ``--through-day``); where it does not, ``refuse`` declares it so that giving
it stops the command with a message saying why and what to use instead, rather than
argparse's bare "unrecognized arguments" (docs/alerts.md, docs/brokerpoll.md,
docs/loading.md list them).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import fastavro.schema


class _Refused(argparse.Action):
    """An argparse action that fails the parse with its own message."""

    def __init__(self, option_strings, dest, reason: str = "", **kwargs):
        self.reason = reason
        super().__init__(option_strings, dest, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        parser.error(f"{option_string} (a flag of the original DESC TOM) is not supported here: {self.reason}")


def refuse(parser, *flags: str, reason: str, takes_value: bool = True) -> None:
    """Declare the original's `flags`, which have no equivalent here, as a clear error."""
    parser.add_argument(
        *flags,
        action=_Refused,
        reason=reason,
        nargs=1 if takes_value else 0,
        default=argparse.SUPPRESS,
        help=argparse.SUPPRESS,
    )


class _Accepted(argparse.Action):
    """A flag of the original that does what this command does anyway: accepted and ignored."""

    def __call__(self, parser, namespace, values, option_string=None):
        pass


def accept(parser, *flags: str, takes_value: bool = False) -> None:
    """Declare the original's `flags` whose meaning is already this command's behaviour."""
    parser.add_argument(
        *flags, action=_Accepted, nargs=1 if takes_value else 0, default=argparse.SUPPRESS, help=argparse.SUPPRESS
    )


class _Fixed(argparse.Action):
    """A setting of the original that is a constant here: its value must be that constant."""

    def __init__(self, option_strings, dest, value: float = 0.0, what: str = "", **kwargs):
        self.value, self.what = value, what
        super().__init__(option_strings, dest, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        try:
            given = float(values[0])
        except ValueError:
            parser.error(f"{option_string}: {values[0]!r} is not a number")
        if given != self.value:
            parser.error(
                f"{option_string} {values[0]}: this loader's {self.what} is fixed at {self.value:g} "
                "(docs/loading.md); other values are not supported"
            )


def fixed(parser, *flags: str, value: float, what: str) -> None:
    """Declare the original's `flags` that set what is a constant here: accepted with that value."""
    parser.add_argument(
        *flags, action=_Fixed, value=value, what=what, nargs=1, default=argparse.SUPPRESS, help=argparse.SUPPRESS
    )


def same_schema(path: str, canonical: str) -> str | None:
    """None when the Avro schema file at `path` is, in Parsing Canonical Form, `canonical`;
    otherwise why not (unreadable, or a different schema)."""
    file = Path(path)
    try:
        parsed = fastavro.schema.load_schema(str(file))
    except FileNotFoundError:
        return f"no such file {path}"
    except Exception as exc:  # fastavro raises many kinds of errors for a bad schema
        return f"{path} is not an Avro schema fastavro can read ({type(exc).__name__}: {exc})"
    if fastavro.schema.to_parsing_canonical_form(parsed) != canonical:
        return f"{path} is not the schema this site streams (compare with tom_desc/elasticc/stream/schemas/)"
    return None
