"""``TomClient``: the DESC TOM from Python, answers as pandas DataFrames and astropy Tables.

Why a package beside the root ``tom_client.py``: that single file keeps the original DESC TOM's
interface (raw ``requests`` responses) for existing scripts; this one is for analysts who want
tables with units in one call, installed with ``pip install ./client`` (or from git with
``#subdirectory=client``). Its ``request``/``get``/``post``/``put`` answer exactly as the single
file's, so scripts can move over unchanged.

Logging in: an API token (``token=`` or ``TOM_TOKEN``; from your profile page or
/accounts/api-token/), or a user name and password, which the client trades once for your token
at /api/token-auth/ (the site limits failed attempts as its login page does). Without either, it
asks for the password when a terminal is there. ``TOM_URL`` names the site.
"""

from __future__ import annotations

import getpass
import os
import sys
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import requests
from astropy.table import Table

from tomdesc_client import tables

DEFAULT_URL = "https://desc-tom.lbl.gov"
# Where each campaign serves its cone search and light curves (the site's REST API, docs/api.md).
# ELAsTiCC2's "ppdb" tables hold every simulated object; the others what the alert stream revealed.
ROUTES = {
    ("elasticc", False): ("elasticc/cone/", "elasticc/diaobject/{id}/lightcurve/"),
    ("elasticc2", False): ("elasticc2/cone/", "elasticc2/diaobject/{id}/lightcurve/"),
    ("elasticc2", True): ("elasticc2/ppdbcone/", "elasticc2/ppdbdiaobject/{id}/lightcurve/"),
}
FINISHED, FAILED = "finished", "error"


class TomError(RuntimeError):
    """The site refused a request or a query failed; the message is the site's own."""


class LoginError(TomError):
    """Logging in failed: a wrong user name, password or token, or too many failed attempts."""


def _message(res: requests.Response) -> str:
    """The site's reason for an error answer, in one line."""
    try:
        body = res.json()
    except ValueError:
        return res.text.strip()[:500] or res.reason
    if isinstance(body, dict):
        if isinstance(body.get("error"), str):
            return body["error"]
        if "detail" in body:
            return str(body["detail"])
        return "; ".join(f"{k}: {' '.join(map(str, v)) if isinstance(v, list) else v}" for k, v in body.items())
    return str(body)


class TomClient:
    """A logged-in connection to the DESC TOM.

    url: the site (default ``TOM_URL``, else desc-tom.lbl.gov).
    username, password, passwordfile (a file whose first line is the password), or token
    (default ``TOM_TOKEN``). connect: log in now. timeout: seconds per HTTP request.
    """

    def __init__(
        self,
        url: str | None = None,
        username: str | None = None,
        password: str | None = None,
        passwordfile: str | os.PathLike | None = None,
        connect: bool = True,
        token: str | None = None,
        timeout: float = 600.0,
    ):
        self.url = (url or os.environ.get("TOM_URL") or DEFAULT_URL).rstrip("/")
        self.username = username
        self.timeout = timeout
        self._token = token or (None if username else os.environ.get("TOM_TOKEN"))
        self._password = password
        if self._token is None and self._password is None:
            if passwordfile is not None:
                self._password = Path(passwordfile).expanduser().read_text().splitlines()[0].strip()
            elif username and sys.stdin is not None and sys.stdin.isatty():
                self._password = getpass.getpass(f"TOM password for {username} at {self.url}: ")
            else:
                raise LoginError("Give a token (or set TOM_TOKEN), or a username with a password or passwordfile.")
        self._session: requests.Session | None = None
        self._catalogue: dict[str, dict] | None = None
        if connect:
            self.connect()

    # ---- the connection ------------------------------------------------------------------------

    def connect(self) -> None:
        """Open a session; with a password, trade it for the account's API token first."""
        session = requests.Session()
        session.headers["User-Agent"] = "tomdesc-client"
        if self._token is None:
            res = session.post(
                f"{self.url}/api/token-auth/",
                data={"username": self.username, "password": self._password},
                timeout=self.timeout,
            )
            if res.status_code == 429:
                raise LoginError(f"Too many failed logins as {self.username}; the site refuses them for a while.")
            if res.status_code != 200:
                raise LoginError(f"Failed to log in as {self.username} (HTTP {res.status_code}): {_message(res)}")
            self._token = res.json()["token"]
        session.headers["Authorization"] = f"Token {self._token}"
        self._session = session

    def request(self, method: str = "GET", page: str | None = None, **kwargs) -> requests.Response:
        """The raw ``requests.Response`` of ``{url}/{page}`` (as the single-file tom_client.py)."""
        if self._session is None:
            self.connect()
        kwargs.setdefault("timeout", self.timeout)
        return self._session.request(method=method, url=f"{self.url}/{page}", **kwargs)

    def get(self, page: str | None = None, **kwargs) -> requests.Response:
        return self.request("GET", page, **kwargs)

    def post(self, page: str | None = None, **kwargs) -> requests.Response:
        return self.request("POST", page, **kwargs)

    def put(self, page: str | None = None, **kwargs) -> requests.Response:
        return self.request("PUT", page, **kwargs)

    def _checked(self, method: str, page: str, **kwargs) -> requests.Response:
        """The response, or TomError (LoginError for 401) with the site's message."""
        res = self.request(method, page, **kwargs)
        if res.status_code == 401:
            raise LoginError(f"{method} /{page}: not logged in ({_message(res)}); check the token.")
        if res.status_code != 200:
            raise TomError(f"{method} /{page}: HTTP {res.status_code}: {_message(res)}")
        return res

    def _json(self, method: str, page: str, **kwargs) -> Any:
        """The JSON answer; an answer ``{"status": "error"}`` (the SQL routes') raises TomError."""
        body = self._checked(method, page, **kwargs).json()
        if isinstance(body, dict) and body.get("status") == "error":
            raise TomError(f"{method} /{page}: {body.get('error')}")
        return body

    # ---- units ---------------------------------------------------------------------------------

    def columns(self) -> dict[str, dict]:
        """``{column: {"unit", "description", "ucd"}}`` of both campaigns' tables (fetched once)."""
        if self._catalogue is None:
            self._catalogue = self._json("GET", "elasticc/columns/")["columns"]
        return self._catalogue

    def describe(self, table: Table) -> Table:
        """Units and descriptions from the site's catalogue on the columns of `table` that have
        none (a Parquet or CSV file read by hand, say); the table itself, changed in place."""
        return tables.describe(table, self.columns())

    # ---- SQL -----------------------------------------------------------------------------------

    def query(self, sql: str | list[str], params: Mapping | None = None) -> list[dict]:
        """Rows of the (last) statement as dicts. ``params`` fill ``%(name)s`` placeholders."""
        return self._json("POST", "db/runsqlquery/", json={"query": sql, "subdict": dict(params or {})})["rows"]

    def query_df(self, sql: str | list[str], params: Mapping | None = None) -> pd.DataFrame:
        """The rows as a DataFrame, columns in the query's order (even when no row came back)."""
        body = {"query": sql, "subdict": dict(params or {}), "format": 1}
        return tables.frame_of_columns(self._json("POST", "db/runsqlquery/", json=body)["data"])

    def query_table(self, sql: str | list[str], params: Mapping | None = None) -> Table:
        """The rows as an astropy Table; known columns carry their unit and description."""
        return tables.table_of_frame(self.query_df(sql, params), self.columns())

    # ---- long queries (no row limit; run by the site in the background) ------------------------

    def submit_query(self, sql: str | list[str], params: Mapping | None = None, fmt: str = "parquet") -> str:
        """Queue a long query; its id. fmt: parquet (default), ecsv, votable, csv, json or pandas."""
        body = {"query": sql, "subdict": dict(params or {}), "format": fmt}
        return self._json("POST", "db/submitsqlquery/", json=body)["queryid"]

    def query_status(self, query_id: str) -> dict:
        """queued, started, finished or error, with times, rows and bytes."""
        return self._json("GET", f"db/checksqlquery/{query_id}/")

    def wait_for_query(self, query_id: str, poll: float = 2.0, timeout: float | None = None) -> dict:
        """Poll until the query finishes (its status) or fails (TomError with the query's error)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            status = self.query_status(query_id)
            if status["status"] == FINISHED:
                return status
            if status["status"] == FAILED:
                raise TomError(f"long query {query_id} failed: {status.get('error')}")
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"long query {query_id} still {status['status']} after {timeout:g} s")
            time.sleep(poll)

    def query_results(self, query_id: str) -> bytes:
        """The finished query's result file, as bytes."""
        return self._checked("GET", f"db/getsqlqueryresults/{query_id}/").content

    def long_query_table(
        self, sql: str | list[str], params: Mapping | None = None, poll: float = 2.0, timeout: float | None = None
    ) -> Table:
        """Submit, wait, then read the Parquet result as a Table with units: the server's, which
        its file carries; the catalogue's only for a file from a server that wrote none."""
        query_id = self.submit_query(sql, params, "parquet")
        self.wait_for_query(query_id, poll, timeout)
        table = tables.read_table(self.query_results(query_id), "parquet")
        return table if tables.has_units(table) else self.describe(table)

    def long_query_df(
        self, sql: str | list[str], params: Mapping | None = None, poll: float = 2.0, timeout: float | None = None
    ) -> pd.DataFrame:
        """As long_query_table, as a DataFrame (units in ``frame.attrs["units"]``)."""
        return tables.frame_of_table(self.long_query_table(sql, params, poll, timeout))

    # ---- objects: light curves and cone searches -----------------------------------------------

    @staticmethod
    def _routes(campaign: str, ppdb: bool) -> tuple[str, str]:
        try:
            return ROUTES[(campaign, ppdb)]
        except KeyError:
            raise ValueError(f"no such table: campaign {campaign!r} (elasticc or elasticc2), ppdb={ppdb}") from None

    def _file(self, page: str, params: dict) -> Table:
        params = {k: v for k, v in params.items() if v is not None}
        content = self._checked("GET", page, params={**params, "format": "ecsv"}).content
        return tables.read_table(content, "ecsv")

    def lightcurve(
        self,
        object_id: int,
        campaign: str = "elasticc2",
        ppdb: bool = False,
        mjd_min: float | None = None,
        mjd_max: float | None = None,
        bands: str | Iterable[str] | None = None,
        which: str = "both",
    ) -> Table:
        """An object's sources and forced photometry in time order, one row per point: ``kind``
        (source or forced), the time (MJD, TAI), band, flux and its error (nJy), S/N."""
        band = bands if bands is None or isinstance(bands, str) else ",".join(bands)
        page = self._routes(campaign, ppdb)[1].format(id=int(object_id))
        return self._file(page, {"mjd_min": mjd_min, "mjd_max": mjd_max, "band": band, "which": which})

    def lightcurve_df(self, object_id: int, **options) -> pd.DataFrame:
        return tables.frame_of_table(self.lightcurve(object_id, **options))

    def cone(
        self,
        ra: float | str,
        dec: float | str,
        radius: float,
        campaign: str = "elasticc2",
        ppdb: bool = False,
        limit: int | None = None,
        fields: Iterable[str] | None = None,
    ) -> Table:
        """Objects within `radius` arcseconds of (ra, dec), nearest first, with ``dist_arcsec``.
        ra and dec in degrees, or sexagesimal strings (RA in hours: "12:30:00")."""
        page = self._routes(campaign, ppdb)[0]
        chosen = None if fields is None else ",".join(fields)
        return self._file(page, {"ra": ra, "dec": dec, "radius": radius, "limit": limit, "fields": chosen})

    def cone_df(self, ra: float | str, dec: float | str, radius: float, **options) -> pd.DataFrame:
        return tables.frame_of_table(self.cone(ra, dec, radius, **options))

    # ---- ELAsTiCC2 follow-up (the original DESC TOM's routes) ----------------------------------

    def hot_transients(
        self,
        detected_since_mjd: float | None = None,
        detected_in_last_days: float | None = None,
        mjd_now: float | None = None,
        cheat_gentypes: list[int] | None = None,
    ) -> pd.DataFrame:
        """Objects detected lately, one row per forced point: objectid, ra, dec (deg), mjd (MJD,
        TAI), band, flux, fluxerr (nJy, zero point 31.4, whatever the answer's ``zp`` says)."""
        body = {
            "detected_since_mjd": detected_since_mjd,
            "detected_in_last_days": detected_in_last_days,
            "mjd_now": mjd_now,
            "cheat_gentypes": cheat_gentypes,
            "return_format": 1,
        }
        found = self._json("POST", "elasticc2/gethottransients", json={k: v for k, v in body.items() if v is not None})
        return _points(found["diaobject"])

    def ltcv(self, object_ids: int | Iterable[int], mjd_now: float | None = None) -> pd.DataFrame:
        """Forced photometry of the objects the TOM knows, one row per point (as hot_transients)."""
        ids = [int(object_ids)] if isinstance(object_ids, int) else [int(i) for i in object_ids]
        body: dict[str, Any] = {"objectids": ids, "return_format": 1}
        if mjd_now is not None:
            body["mjd_now"] = mjd_now
        return _points(self._json("POST", "elasticc2/ltcv", json=body)["diaobject"])

    def ask_for_spectrum(self, object_ids: Iterable[int], priorities: Iterable[int], requester: str) -> int:
        """Ask for spectra of the objects (priority 1 low to 5 high); how many requests were stored."""
        body = {"requester": requester, "objectids": [int(i) for i in object_ids], "priorities": list(priorities)}
        return self._json("POST", "elasticc2/askforspectrum", json=body)["num"]

    def spectra_wanted(self, **filters: Any) -> list[dict]:
        """What spectra observers are asked for (filters: requested_since, not_claimed_in_last_days,
        detected_since_mjd, lim_mag and lim_mag_band...; see docs/quickstart.md)."""
        return self._json("POST", "elasticc2/spectrawanted", json=filters)["wantedspectra"]


def _points(objects: list[dict]) -> pd.DataFrame:
    """One row per photometry point of the follow-up answers' ``return_format: 1`` objects."""
    names = ["objectid", "ra", "dec", "mjd", "band", "flux", "fluxerr"]
    rows = [
        (o.get("objectid"), o.get("ra"), o.get("dec"), *point)
        for o in objects
        for point in zip(o["mjd"], o["band"], o["flux"], o["fluxerr"])
    ]
    frame = pd.DataFrame(rows, columns=names)
    frame.attrs["units"] = {"ra": "deg", "dec": "deg", "mjd": "d", "flux": "nJy", "fluxerr": "nJy"}
    return frame
