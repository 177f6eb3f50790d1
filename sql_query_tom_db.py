#!/usr/bin/env python3
"""Send SQL to the DESC TOM and get rows back: a module and a command-line tool.

Needs only `requests` (and uses `orjson` to decode answers faster when it is installed). Queries run read-only on the server under a PostgreSQL role
that can read the elasticc_broker* and taxonomy tables (everyone) or every
elasticc_* table (members of elasticc_admin); the tables and their columns are
listed in the comment block at the end of this file.

Command line:

    python sql_query_tom_db.py --url https://desc-tom.lbl.gov --user me --password-file ~/.tompw \\
        'SELECT "classId", count(*) FROM elasticc_brokerclassification GROUP BY 1'
    python sql_query_tom_db.py --url ... --token-file ~/.tomtoken --csv out.csv "SELECT ..."
    python sql_query_tom_db.py --url ... --user me --password-file F --async --format parquet \\
        --output big.parquet "SELECT ..."        # long query: no row limit, runs in the background

Parameters: write %(name)s in the SQL and pass --param name=value (repeatable; a value
holding commas with --list-param name=1,2,3 becomes a list usable with IN or = ANY).

As a module:

    from sql_query_tom_db import TomClient
    tom = TomClient("https://desc-tom.lbl.gov", username="me", password="...")   # or token="..."
    rows = tom.query('SELECT * FROM elasticc_brokerclassifier WHERE "brokerName" = %(b)s', {"b": "ALeRCE"})
    path = tom.long_query("SELECT ...", fmt="csv", output="result.csv")
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
import time
from pathlib import Path
from typing import Any

import requests

try:  # optional: decodes big answers several times faster than the standard library
    import orjson as _fast_json
except ImportError:  # pragma: no cover - depends on the user's environment
    _fast_json = None

__all__ = ["TomClient", "TomError"]


class TomError(RuntimeError):
    """The server refused the request or the query failed; the message is the server's."""


class TomClient:
    """A logged-in connection to the TOM's SQL interface (/db/...)."""

    def __init__(
        self,
        url: str,
        username: str | None = None,
        password: str | None = None,
        token: str | None = None,
        timeout: float = 600.0,
        verify: bool | str = True,
    ):
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()
        self.session.verify = verify
        self.session.headers["User-Agent"] = "sql_query_tom_db.py"
        if token:
            self.session.headers["Authorization"] = f"Token {token}"
        elif username and password is not None:
            self.login(username, password)
        else:
            raise TomError("give a token, or a username and password")

    # -- plumbing -----------------------------------------------------------------------------
    def login(self, username: str, password: str) -> None:
        """Session login through the site's login page (the CSRF cookie, then the form)."""
        login_url = f"{self.url}/accounts/login/"
        self.session.get(login_url, timeout=self.timeout).raise_for_status()
        csrf = self.session.cookies.get("csrftoken")
        if not csrf:
            raise TomError(f"{login_url} set no CSRF cookie; is this a TOM?")
        # The login form calls the field `login`; this site also accepts `username`.
        response = self.session.post(
            login_url,
            timeout=self.timeout,
            allow_redirects=False,
            headers={"Referer": login_url, "X-CSRFToken": csrf},
            data={"login": username, "username": username, "password": password, "csrfmiddlewaretoken": csrf},
        )
        if response.status_code not in (302, 303) or "sessionid" not in self.session.cookies:
            raise TomError(f"login as {username!r} failed (HTTP {response.status_code}): wrong user or password?")
        self.session.headers["X-CSRFToken"] = self.session.cookies.get("csrftoken", csrf)
        self.session.headers["Referer"] = login_url

    @staticmethod
    def _body(response: requests.Response) -> bytes:
        """The whole body of a response requested with stream=True, read in one call
        (requests' .content gathers it in 10 kB pieces: a third of the time of a
        100,000-row answer)."""
        return response.raw.read(decode_content=True)

    def _json(self, response: requests.Response) -> dict:
        content = self._body(response)
        try:
            data = _fast_json.loads(content) if _fast_json else json.loads(content)
        except ValueError:
            raise TomError(f"HTTP {response.status_code} from {response.url}: not JSON ({content[:200]!r})") from None
        if response.status_code >= 400 or (
            isinstance(data, dict) and data.get("status") == "error" and "queryid" not in data
        ):
            message = data.get("error") or data.get("detail") or data if isinstance(data, dict) else data
            raise TomError(f"HTTP {response.status_code}: {message}")
        return data

    def _post(self, path: str, body: dict) -> dict:
        with self.session.post(f"{self.url}{path}", json=body, timeout=self.timeout, stream=True) as response:
            return self._json(response)

    # -- queries ------------------------------------------------------------------------------
    def query(self, sql: str | list[str], subdict: dict | list[dict] | None = None) -> list[dict[str, Any]]:
        """Run SQL now (one read-only transaction; several statements run in order) and return
        the rows of the last statement as dicts. Results above the server's row limit are
        refused: use long_query() for those."""
        return self._post("/db/runsqlquery/", {"query": sql, "subdict": subdict or {}})["rows"]

    def submit(self, sql: str | list[str], subdict: dict | list[dict] | None = None, fmt: str = "csv") -> str:
        """Queue a long query; returns its id."""
        return self._post("/db/submitsqlquery/", {"query": sql, "subdict": subdict or {}, "format": fmt})["queryid"]

    def status(self, queryid: str) -> dict:
        """{"status": queued|started|finished|error, "submitted", "started", "finished", "error", ...}."""
        with self.session.get(f"{self.url}/db/checksqlquery/{queryid}/", timeout=self.timeout, stream=True) as response:
            return self._json(response)

    def wait(
        self,
        queryid: str,
        max_wait: float | None = None,
        first_interval: float = 1.0,
        max_interval: float = 30.0,
        progress=None,
    ) -> dict:
        """Poll politely (intervals growing from first_interval to max_interval) until the query
        is finished (returns its status) or failed (raises TomError)."""
        interval, start = first_interval, time.monotonic()
        while True:
            info = self.status(queryid)
            if progress:
                progress(info)
            if info["status"] == "finished":
                return info
            if info["status"] == "error":
                raise TomError(f"query {queryid} failed: {info.get('error')}")
            if max_wait is not None and time.monotonic() - start > max_wait:
                raise TomError(f"query {queryid} still {info['status']} after {max_wait:g} s")
            time.sleep(interval)
            interval = min(max_interval, interval * 1.5)

    def download(self, queryid: str, output: str | Path) -> Path:
        """Stream a finished query's result file to `output`."""
        output = Path(output)
        with self.session.get(
            f"{self.url}/db/getsqlqueryresults/{queryid}/", stream=True, timeout=self.timeout
        ) as response:
            if response.status_code != 200:
                self._json(response)
                raise TomError(f"HTTP {response.status_code} downloading {queryid}")
            with open(output, "wb") as out:
                for chunk in response.iter_content(1 << 20):
                    out.write(chunk)
        return output

    def long_query(
        self,
        sql: str | list[str],
        subdict: dict | list[dict] | None = None,
        fmt: str = "csv",
        output: str | Path | None = None,
        **wait_options,
    ) -> Path:
        """submit + wait + download; returns the path of the result file."""
        queryid = self.submit(sql, subdict, fmt)
        self.wait(queryid, **wait_options)
        suffix = {"csv": "csv", "parquet": "parquet", "json": "jsonl"}[fmt]
        return self.download(queryid, output or f"sqlquery-{queryid}.{suffix}")


# --- command line ------------------------------------------------------------------------------


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


def format_table(rows: list[dict], out=None) -> str:
    """Rows as an aligned text table (numbers right-aligned)."""
    if not rows:
        return "(0 rows)\n"
    columns = list(rows[0].keys())
    cells = [[_cell(row.get(c)) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    numeric = [all(isinstance(row.get(c), (int, float)) or row.get(c) is None for row in rows) for c in columns]
    lines = [" | ".join(c.ljust(w) for c, w in zip(columns, widths)), "-+-".join("-" * w for w in widths)]
    for r in cells:
        lines.append(" | ".join(v.rjust(w) if num else v.ljust(w) for v, w, num in zip(r, widths, numeric)))
    lines.append(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
    return "\n".join(lines) + "\n"


def write_csv(rows: list[dict], path: str) -> None:
    with open(path, "w", newline="") if path != "-" else io.TextIOWrapper(sys.stdout.buffer, newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        if rows:
            columns = list(rows[0].keys())
            writer.writerow(columns)
            writer.writerows([_cell(row.get(c)) for c in columns] for row in rows)


def _params(pairs: list[str], list_pairs: list[str]) -> dict:
    params: dict[str, Any] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep:
            raise SystemExit(f"--param wants name=value, got {pair!r}")
        params[name] = value
    for pair in list_pairs:
        name, sep, value = pair.partition("=")
        if not sep:
            raise SystemExit(f"--list-param wants name=v1,v2,..., got {pair!r}")
        params[name] = [int(v) if v.strip().lstrip("-").isdigit() else v for v in value.split(",")]
    return params


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Run read-only SQL on the DESC TOM and print the rows (or save them). The tables and "
        "columns are listed at the end of this script.",
        epilog="Exit status: 0 on success, 1 when the server refused the query (its message is printed).",
    )
    parser.add_argument(
        "sql",
        nargs="+",
        help="SQL statement(s); several run in order in one transaction and the rows of the last are returned",
    )
    parser.add_argument("--url", required=True, help="the TOM, e.g. https://desc-tom.lbl.gov")
    parser.add_argument("--user", help="your TOM username")
    parser.add_argument("--password-file", help="a file holding your TOM password")
    parser.add_argument("--token", help="an API token instead of user/password (see your profile page)")
    parser.add_argument("--token-file", help="a file holding the API token")
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a value for %%(NAME)s in the SQL (a string; cast in SQL if needed)",
    )
    parser.add_argument(
        "--list-param",
        action="append",
        default=[],
        metavar="NAME=V1,V2",
        help="a list value for %%(NAME)s (use with IN or = ANY)",
    )
    parser.add_argument("--csv", metavar="FILE", help="write the rows as CSV to FILE ('-': stdout) instead of a table")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON instead of a table")
    parser.add_argument(
        "--async",
        dest="long",
        action="store_true",
        help="run as a long query (no row limit): submit, poll, download to --output",
    )
    parser.add_argument(
        "--format",
        default="csv",
        choices=["csv", "parquet", "json"],
        help="result file format of --async (default csv)",
    )
    parser.add_argument("--output", help="result file of --async (default sqlquery-<id>.<format>)")
    parser.add_argument("--max-wait", type=float, default=None, help="give up waiting after this many seconds")
    parser.add_argument("--insecure", action="store_true", help="do not verify the server's TLS certificate")
    args = parser.parse_args(argv)

    token = args.token or (Path(args.token_file).expanduser().read_text().strip() if args.token_file else None)
    password = Path(args.password_file).expanduser().read_text().strip() if args.password_file else None
    if not token and not (args.user and password is not None):
        parser.error("give --token/--token-file, or --user and --password-file")
    sql: str | list[str] = args.sql[0] if len(args.sql) == 1 else args.sql
    params = _params(args.param, args.list_param)
    try:
        tom = TomClient(args.url, username=args.user, password=password, token=token, verify=not args.insecure)
        if args.long:

            def progress(info):
                print(f"query {info['queryid']}: {info['status']}", file=sys.stderr)

            output = args.output or (args.csv if args.csv and args.format == "csv" else None)
            path = tom.long_query(
                sql, params, fmt=args.format, output=output, max_wait=args.max_wait, progress=progress
            )
            print(f"results written to {path}", file=sys.stderr)
            if args.format == "csv" and not args.output and not args.csv:
                print(Path(path).read_text(), end="")
            return 0
        rows = tom.query(sql, params)
    except TomError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except requests.RequestException as exc:
        print(f"error: cannot reach {args.url}: {exc}", file=sys.stderr)
        return 1
    if args.csv:
        write_csv(rows, args.csv)
    elif args.json:
        print(json.dumps(rows, indent=1))
    else:
        sys.stdout.write(format_table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())


# ---- elasticc tables: generated by `python manage.py regenerate_schema_doc` from the database; do not edit ----
#
# Everybody can read the tables marked (everyone); the others need the elasticc_admin group.
# Column names are case sensitive: quote them in SQL, e.g. "diaObjectId".
# Each column is `name type`; * marks the primary key, ? a column that may be null.
#
# elasticc_brokerclassification (everyone; partitioned by LIST ("classifierId"))
#   classificationId* bigint, classifierId* bigint, brokerMessageId bigint, classId integer,
#   probability float4
#
# elasticc_brokerclassifier (everyone)
#   classifierId* bigint, brokerName text, brokerVersion text, classifierName text, classifierParams text,
#   modified timestamptz
#
# elasticc_brokerdeadletter (everyone)
#   id* bigint, pollerName text, groupId text, topic text, partition integer, offset bigint,
#   msgHdrTimestamp? timestamptz, key? bytea, value? bytea, reason text, created timestamptz
#
# elasticc_brokermessage (everyone; partitioned by LIST ("classifierId"))
#   brokerMessageId* bigint, classifierId* bigint, streamMessageId? bigint, topicName? text,
#   kafkaPartition? integer, alertId bigint, diaSourceId bigint, msgHdrTimestamp? timestamptz,
#   descIngestTimestamp timestamptz, elasticcPublishTimestamp? timestamptz, brokerIngestTimestamp? timestamptz
#
# elasticc_brokerpollstatus (everyone)
#   pollerId* text, pollerName text, host text, pid integer, groupId text, topics text, state text,
#   started timestamptz, lastPoll timestamptz, messagesStored bigint, classificationsStored bigint,
#   duplicates bigint, deadLettered bigint, lag? bigint
#
# elasticc_classidofgentype (everyone)
#   id* bigint, classId integer, gentype integer, exactmatch bool, categorymatch bool, description text
#
# elasticc_diaalert (elasticc_admin; partitioned by HASH ("diaObjectId"))
#   alertId* bigint, diaSourceId bigint, diaObjectId* bigint, midPointTai float8,
#   alertSentTimestamp? timestamptz
#
# elasticc_diaforcedsource (elasticc_admin; partitioned by HASH ("diaObjectId"))
#   diaForcedSourceId* bigint, diaObjectId* bigint, midPointTai float8, filterName text, psFlux float4,
#   psFluxErr float4
#
# elasticc_diaobject (elasticc_admin)
#   diaObjectId* bigint, simVersion? text, ra float8, decl float8, mwebv? float4, mwebv_err? float4,
#   z_final? float4, z_final_err? float4, hostgal_ellipticity? float4, hostgal_sqradius? float4,
#   hostgal_zspec? float4, hostgal_zspec_err? float4, hostgal_zphot? float4, hostgal_zphot_err? float4,
#   hostgal_zphot_q000? float4, hostgal_zphot_q010? float4, hostgal_zphot_q020? float4,
#   hostgal_zphot_q030? float4, hostgal_zphot_q040? float4, hostgal_zphot_q050? float4,
#   hostgal_zphot_q060? float4, hostgal_zphot_q070? float4, hostgal_zphot_q080? float4,
#   hostgal_zphot_q090? float4, hostgal_zphot_q100? float4, hostgal_mag_u? float4, hostgal_mag_g? float4,
#   hostgal_mag_r? float4, hostgal_mag_i? float4, hostgal_mag_z? float4, hostgal_mag_Y? float4,
#   hostgal_ra? float4, hostgal_dec? float4, hostgal_snsep? float4, hostgal_magerr_u? float4,
#   hostgal_magerr_g? float4, hostgal_magerr_r? float4, hostgal_magerr_i? float4, hostgal_magerr_z? float4,
#   hostgal_magerr_Y? float4, hostgal2_ellipticity? float4, hostgal2_sqradius? float4, hostgal2_zspec? float4,
#   hostgal2_zspec_err? float4, hostgal2_zphot? float4, hostgal2_zphot_err? float4,
#   hostgal2_zphot_q000? float4, hostgal2_zphot_q010? float4, hostgal2_zphot_q020? float4,
#   hostgal2_zphot_q030? float4, hostgal2_zphot_q040? float4, hostgal2_zphot_q050? float4,
#   hostgal2_zphot_q060? float4, hostgal2_zphot_q070? float4, hostgal2_zphot_q080? float4,
#   hostgal2_zphot_q090? float4, hostgal2_zphot_q100? float4, hostgal2_mag_u? float4, hostgal2_mag_g? float4,
#   hostgal2_mag_r? float4, hostgal2_mag_i? float4, hostgal2_mag_z? float4, hostgal2_mag_Y? float4,
#   hostgal2_ra? float4, hostgal2_dec? float4, hostgal2_snsep? float4, hostgal2_magerr_u? float4,
#   hostgal2_magerr_g? float4, hostgal2_magerr_r? float4, hostgal2_magerr_i? float4,
#   hostgal2_magerr_z? float4, hostgal2_magerr_Y? float4
#
# elasticc_diaobjecttruth (elasticc_admin)
#   diaObjectId* bigint, libid? integer, sim_searcheff_mask? integer, gentype integer, non1a_index? integer,
#   zcmb? float4, zhelio? float4, zcmb_smear? float4, ra? float8, dec? float8, mwebv? float4, galid? bigint,
#   galzphot? float4, galzphoterr? float4, galsnsep? float4, galsnddlr? float4, rv? float4, av? float4,
#   mu? float4, lensdmu? float4, peakmjd? float8, mjd_detect_first? float8, mjd_detect_last? float8,
#   dtseason_peak? float4, peakmag_u? float4, peakmag_g? float4, peakmag_r? float4, peakmag_i? float4,
#   peakmag_z? float4, peakmag_y? float4, snrmax? float4, snrmax2? float4, snrmax3? float4, nobs? integer,
#   nobs_saturate? integer
#
# elasticc_diasource (elasticc_admin; partitioned by HASH ("diaObjectId"))
#   diaSourceId* bigint, diaObjectId* bigint, midPointTai float8, filterName text, ra float8, decl float8,
#   psFlux float4, psFluxErr float4, snr float4
#
# elasticc_diatruth (elasticc_admin; partitioned by HASH ("diaObjectId"))
#   diaSourceId* bigint, diaObjectId* bigint, mjd float8, detect bool, gentype integer, genmag? float4
#
# elasticc_gentypeofclassid (everyone)
#   id* bigint, classId integer, gentype? integer, description text
#
# elasticc_kafkaoffset (elasticc_admin)
#   groupId* text, topic* text, partition* integer, nextOffset bigint, updated timestamptz, topicId? text
#
# ---- end of elasticc tables ----
