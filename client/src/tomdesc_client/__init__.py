"""A client for the LSST DESC TOM: SQL, light curves, cone searches and spectrum requests as
pandas DataFrames and astropy Tables with units (client.py; quick start: docs/quickstart.md)."""

from __future__ import annotations

from tomdesc_client.client import LoginError, TomClient, TomError

__all__ = ["LoginError", "TomClient", "TomError"]
__version__ = "0.1.0"
