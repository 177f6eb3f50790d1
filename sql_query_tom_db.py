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
        message = data.get("error") or data.get("detail") or data if isinstance(data, dict) else data
        if response.status_code >= 400:
            retry = response.headers.get("Retry-After")
            raise TomError(f"HTTP {response.status_code}: {message}" + (f" (retry after {retry} s)" if retry else ""))
        if isinstance(data, dict) and data.get("status") == "error" and "queryid" not in data:
            raise TomError(str(message))  # the site's way to say the query failed (HTTP 200, as the original)
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
        """{"status": queued|started|finished|error, "queries", "subdicts", "submitted", "started",
        "finished", "error", ...}."""
        with self.session.post(
            f"{self.url}/db/checksqlquery/{queryid}/", timeout=self.timeout, stream=True
        ) as response:
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
        """Stream a finished query's result file to `output` (format pandas: a pickled DataFrame,
        which pandas.read_pickle reads; unpickle only what comes from a server you trust)."""
        output = Path(output)
        with self.session.post(
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
        suffix = {
            "csv": "csv",
            "parquet": "parquet",
            "json": "jsonl",
            "pandas": "pkl",
            "ecsv": "ecsv",
            "votable": "vot",
        }[fmt]
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
        choices=["csv", "parquet", "json", "pandas", "ecsv", "votable"],
        help="result file format of --async (default csv; pandas: a pickled DataFrame; ecsv, votable and "
        "parquet carry units)",
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
# elasticc_* column names are case sensitive: quote them in SQL, e.g. "diaObjectId"; elasticc2_* are
# lower case and need no quotes.
# Each column is `name type`; * marks the primary key, ? a column that may be null;
# `a_{x,y} type` stands for the columns a_x and a_y.
# elasticc2_brokerclassifier (everyone)
#   classifier_id* bigint, brokername varchar(100), brokerversion? text, classifiername varchar(200),
#   classifierparams? text, modified timestamptz, registeredby? text
# elasticc2_brokermessage (everyone; partitioned by LIST (classifier_id))
#   brokermessage_id* bigint, streammessage_id? bigint, topicname? varchar(200), kafkapartition? integer,
#   alert_id bigint, diasource_id bigint, msghdrtimestamp? timestamptz, descingesttimestamp timestamptz,
#   elasticcpublishtimestamp? timestamptz, brokeringesttimestamp? timestamptz, classifier_id* bigint,
#   classid smallint[], probability float4[]
# elasticc2_classidofgentype (everyone)
#   id* integer, gentype integer, classid integer, exactmatch bool, categorymatch bool, generalmatch bool,
#   broadmatch bool, description text
# elasticc2_diaforcedsource (elasticc_admin; partitioned by HASH (diaobject_id))
#   diaforcedsource_id* bigint, diaobject_id* bigint, midpointtai float8, filtername text, psflux float4,
#   psfluxerr float4
# elasticc2_diaobject (elasticc_admin)
#   diaobject_id* bigint, isddf bool, simversion? text, ra float8, decl float8, mwebv? float4,
#   mwebv_err? float4, z_final? float4, z_final_err? float4, hostgal_{ellipticity,sqradius,zspec}? float4,
#   hostgal_zspec_err? float4, hostgal_zphot? float4,
#   hostgal_zphot_{err,q000,q010,q020,q030,q040,q050,q060,q070,q080,q090,q100}? float4,
#   hostgal_mag_{u,g,r,i,z,y}? float4, hostgal_{ra,dec,snsep}? float4, hostgal_magerr_{u,g,r,i,z,y}? float4,
#   hostgal2_{ellipticity,sqradius,zspec}? float4, hostgal2_zspec_err? float4, hostgal2_zphot? float4,
#   hostgal2_zphot_{err,q000,q010,q020,q030,q040,q050,q060,q070,q080,q090,q100}? float4,
#   hostgal2_mag_{u,g,r,i,z,y}? float4, hostgal2_{ra,dec,snsep}? float4, hostgal2_magerr_{u,g,r,i,z,y}? float4
# elasticc2_diaobjectoftarget (elasticc_admin)
#   id* integer, diaobject_id bigint, tomtarget_id integer
# elasticc2_diaobjecttruth (elasticc_admin)
#   diaobject_id* bigint, libid integer, sim_searcheff_mask integer, gentype integer,
#   sim_template_index integer, zcmb float4, zhelio float4, zcmb_smear float4, ra float8, dec float8,
#   mwebv float4, galid? bigint, galzphot? float4, galzphoterr? float4, galsnsep? float4, galsnddlr? float4,
#   rv float4, av float4, mu float4, lensdmu float4, peakmjd float4, mjd_detect_{first,last} float8,
#   dtseason_peak float4, peakmag_{u,g,r,i,z,y} float4, snrmax float4, snrmax2 float4, snrmax3 float4,
#   nobs integer, nobs_saturate integer
# elasticc2_diasource (elasticc_admin; partitioned by HASH (diaobject_id))
#   diasource_id* bigint, diaobject_id* bigint, midpointtai float8, filtername text, ra float8, decl float8,
#   psflux float4, psfluxerr float4, snr float4
# elasticc2_gentypeofclassid (everyone)
#   id* integer, classid integer, gentype? integer, description text
# elasticc2_plannedspectra (elasticc_admin)
#   reqspec_id* integer, facility text, created_at timestamptz, plantime? timestamptz, comment text,
#   diaobject_id bigint
# elasticc2_ppdbalert (elasticc_admin; partitioned by HASH (diaobject_id))
#   alert_id* bigint, diasource_id bigint, diaobject_id* bigint, midpointtai float8,
#   alertsenttimestamp? timestamptz
# elasticc2_ppdbdiaforcedsource (elasticc_admin; partitioned by HASH (diaobject_id))
#   the columns of elasticc2_diaforcedsource
# elasticc2_ppdbdiaobject (elasticc_admin)
#   the columns of elasticc2_diaobject
# elasticc2_ppdbdiasource (elasticc_admin; partitioned by HASH (diaobject_id))
#   the columns of elasticc2_diasource
# elasticc2_spectruminfo (elasticc_admin)
#   specinfo_id* integer, facility? text, inserted_at timestamptz, mjd float8, z? float4, classid? integer,
#   diaobject_id bigint
# elasticc2_wantedspectra (elasticc_admin)
#   wantspec_id* text, wanttime timestamptz, requester? text, priority integer, diaobject_id bigint,
#   user_id integer
# elasticc_brokerclassification (everyone; partitioned by LIST ("classifierId"))
#   classificationId* bigint, classifierId* bigint, brokerMessageId bigint, classId integer,
#   probability float4, modified timestamptz
# elasticc_brokerclassifier (everyone)
#   classifierId* bigint, brokerName text, brokerVersion text, classifierName text, classifierParams text,
#   modified timestamptz, registeredBy? text
# elasticc_brokerdeadletter (everyone)
#   id* bigint, pollerName text, groupId text, topic text, partition integer, offset bigint,
#   msgHdrTimestamp? timestamptz, key? bytea, value? bytea, reason text, created timestamptz
# elasticc_brokermessage (everyone; partitioned by LIST ("classifierId"))
#   brokerMessageId* bigint, classifierId* bigint, streamMessageId? bigint, topicName? text,
#   kafkaPartition? integer, alertId bigint, diaSourceId bigint, msgHdrTimestamp? timestamptz,
#   descIngestTimestamp timestamptz, elasticcPublishTimestamp? timestamptz,
#   brokerIngestTimestamp? timestamptz, modified timestamptz
# elasticc_brokerpollstatus (everyone)
#   pollerId* text, pollerName text, host text, pid integer, groupId text, topics text, state text,
#   started timestamptz, lastPoll timestamptz, messagesStored bigint, classificationsStored bigint,
#   duplicates bigint, deadLettered bigint, lag? bigint
# elasticc_classidofgentype (everyone)
#   id* bigint, classId integer, gentype integer, exactmatch bool, categorymatch bool, description text
# elasticc_diaalert (elasticc_admin; partitioned by HASH ("diaObjectId"))
#   alertId* bigint, diaSourceId bigint, diaObjectId* bigint, alertMidPointTai float8,
#   alertSentTimestamp? timestamptz
# elasticc_diaforcedsource (elasticc_admin; partitioned by HASH ("diaObjectId"))
#   diaForcedSourceId* bigint, diaObjectId* bigint, midPointTai float8, filterName text, psFlux float4,
#   psFluxErr float4, ccdVisitId? bigint, totFlux? float4, totFluxErr? float4
# elasticc_diaobject (elasticc_admin)
#   diaObjectId* bigint, simVersion? text, ra float8, decl float8, mwebv? float4, mwebv_err? float4,
#   z_final? float4, z_final_err? float4, hostgal_{ellipticity,sqradius,zspec}? float4,
#   hostgal_zspec_err? float4, hostgal_zphot? float4,
#   hostgal_zphot_{err,q000,q010,q020,q030,q040,q050,q060,q070,q080,q090,q100}? float4,
#   hostgal_mag_{u,g,r,i,z,Y}? float4, hostgal_{ra,dec,snsep}? float4, hostgal_magerr_{u,g,r,i,z,Y}? float4,
#   hostgal2_{ellipticity,sqradius,zspec}? float4, hostgal2_zspec_err? float4, hostgal2_zphot? float4,
#   hostgal2_zphot_{err,q000,q010,q020,q030,q040,q050,q060,q070,q080,q090,q100}? float4,
#   hostgal2_mag_{u,g,r,i,z,Y}? float4, hostgal2_{ra,dec,snsep}? float4,
#   hostgal2_magerr_{u,g,r,i,z,Y}? float4, hostgal2_zphot_p50? float4, hostgal_zphot_p50? float4
# elasticc_diaobjecttruth (elasticc_admin)
#   diaObjectId* bigint, libid? integer, sim_searcheff_mask? integer, gentype integer, non1a_index? integer,
#   zcmb? float4, zhelio? float4, zcmb_smear? float4, ra? float8, dec? float8, mwebv? float4, galid? bigint,
#   galzphot? float4, galzphoterr? float4, galsnsep? float4, galsnddlr? float4, rv? float4, av? float4,
#   mu? float4, lensdmu? float4, peakmjd? float8, mjd_detect_{first,last}? float8, dtseason_peak? float4,
#   peakmag_{u,g,r,i,z,Y}? float4, snrmax? float4, snrmax2? float4, snrmax3? float4, nobs? integer,
#   nobs_saturate? integer, galnmatch? integer, sim_template_index? integer
# elasticc_diasource (elasticc_admin; partitioned by HASH ("diaObjectId"))
#   diaSourceId* bigint, diaObjectId* bigint, midPointTai float8, filterName text, ra float8, decl float8,
#   psFlux float4, psFluxErr float4, snr float4, ccdVisitId? bigint, nobs? float8, parentDiaSourceId? bigint
# elasticc_diatruth (elasticc_admin; partitioned by HASH ("diaObjectId"))
#   diaSourceId* bigint, diaObjectId* bigint, mjd float8, detect bool, gentype integer, genmag? float4
# elasticc_gentypeofclassid (everyone)
#   id* bigint, classId integer, gentype? integer, description text
# elasticc_kafkaoffset (elasticc_admin)
#   groupId* text, topic* text, partition* integer, nextOffset bigint, updated timestamptz, topicId? text
# elasticc_maxprob_timebins (elasticc_admin)
#   timebin? integer, dtmin? float8, dtmax? float8
# elasticc_view_class_max_right_hist (elasticc_admin; view)
#   timebin? integer, dtmin? float8, dtmax? float8, maxprobbin? integer, binmeanmaxprob? numeric,
#   classifierId? bigint, trueClassId? integer, count? bigint
# elasticc_view_class_max_right_in_bin (elasticc_admin; view)
#   timebin? integer, diaObjectId? bigint, classifierId? bigint, trueClassId? integer, maxprob? float8
# elasticc_view_classifications_probmetrics (elasticc_admin; view)
#   classifierId? bigint, classId? integer, trueClassId? integer, tbin? integer, probbin? integer,
#   count? bigint
# elasticc_view_classifications_totprobpersource (everyone; view)
#   classifierId? bigint, diaSourceId? bigint, totprob? float8
# elasticc_view_classifiersourcetotprob (everyone; view)
#   the columns of elasticc_view_classifications_totprobpersource
# elasticc_view_dedupedclassifications (elasticc_admin; view)
#   classifierId? bigint, brokerMessageId? bigint, classId? integer, trueClassId? integer,
#   diaSourceId? bigint, dt? float8, n? bigint, probability? float8, sigma? float8
# elasticc_view_maxprobdiff (elasticc_admin; view)
#   earlytimebin? integer, latetimebin? integer, diaObjectId? bigint, trueClassId? integer,
#   classifierId? bigint, earlymaxprob? float8, latemaxprob? float8
# elasticc_view_maxprobdiff_hist (elasticc_admin; view)
#   classifierId? bigint, trueClassId? integer, earlytimebin? integer, latetimebin? integer,
#   probdiffbin? integer, binmeanprobdiff? numeric, count? bigint
# elasticc_view_nobjclassified_in_timebin (elasticc_admin; view)
#   classifierId? bigint, trueClassId? integer, timebin? integer, n? bigint
# elasticc_view_prevsourcecounts (elasticc_admin; view)
#   diaSourceId? bigint, diaObjectId? bigint, midPointTai? float8, ndetections? bigint, mint? float8,
#   nforced? bigint
# elasticc_view_sourceclassifications (elasticc_admin; view)
#   classifierId? bigint, brokerName? text, brokerVersion? text, classifierName? text, classifierParams? text,
#   classId? integer, probability? float4, diaSourceId? bigint, diaObjectId? bigint, gentype? integer,
#   trueClassId? integer, alertId? bigint, brokerMessageId? bigint, alertSentTimestamp? timestamptz,
#   elasticcPublishTimestamp? timestamptz, brokerIngestTimestamp? timestamptz, msgHdrTimestamp? timestamptz,
#   descIngestTimestamp? timestamptz
# ---- end of elasticc tables ----
