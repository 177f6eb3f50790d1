"""``tomdesc``: quick looks from a shell, the table on standard output (or ``--output``).

    export TOM_URL=https://desc-tom.lbl.gov TOM_TOKEN=...      # or --url, --user (password prompt)
    tomdesc query 'SELECT "classifierId", "brokerName" FROM elasticc_brokerclassifier' --format csv
    tomdesc query 'SELECT ...' --long --output big.parquet    # a long query, no row limit
    tomdesc lightcurve 1552185 --format ecsv                  # ELAsTiCC2 by default (--campaign)
    tomdesc cone 150.0 2.0 30                                 # ra, dec (deg), radius (arcsec)

Why a console script: the first look at a table should not need a notebook. Formats are
astropy's writers, so ECSV and VOTable keep the units the site gave.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from astropy.table import Table

from tomdesc_client.client import TomClient, TomError

WRITERS = {
    "csv": "ascii.csv",
    "ecsv": "ascii.ecsv",
    "votable": "votable",
    "parquet": "parquet",
    "text": "ascii.fixed_width",
}
SUFFIXES = {"csv": "csv", "ecsv": "ecsv", "vot": "votable", "xml": "votable", "parquet": "parquet"}


def _parser() -> argparse.ArgumentParser:
    # The options every command takes, after its name: `tomdesc query "SELECT ..." --format csv`.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--url", help="the site (default: TOM_URL)")
    common.add_argument("--user", help="log in with a password (asked for) instead of TOM_TOKEN")
    common.add_argument(
        "--format", choices=sorted(WRITERS), help="output format (default: from --output's suffix, else text)"
    )
    common.add_argument("--output", "-o", help="write to this file (parquet needs one)")
    parser = argparse.ArgumentParser(prog="tomdesc", description="Query the DESC TOM (TOM_URL, TOM_TOKEN).")
    commands = parser.add_subparsers(dest="command", required=True)
    query = commands.add_parser("query", help="run SQL (read-only)", parents=[common])
    query.add_argument("sql")
    query.add_argument("--param", action="append", default=[], metavar="NAME=VALUE", help="fills %%(NAME)s")
    query.add_argument("--long", action="store_true", help="submit as a long query and wait (no row limit)")
    curve = commands.add_parser("lightcurve", help="an object's light curve", parents=[common])
    curve.add_argument("object_id", type=int)
    cone = commands.add_parser(
        "cone", help="objects within a radius, nearest first (a negative sexagesimal Dec: -- first)", parents=[common]
    )
    for sub in (curve, cone):
        sub.add_argument("--campaign", choices=["elasticc", "elasticc2"], default="elasticc2")
        sub.add_argument("--ppdb", action="store_true", help="ELAsTiCC2's every simulated object")
    cone.add_argument("ra", help="degrees, or hours as 12:30:00")
    cone.add_argument("dec", help="degrees, or -45:30:00")
    cone.add_argument("radius", type=float, help="arcseconds")
    return parser


def _params(pairs: Sequence[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise SystemExit(f"tomdesc: --param wants NAME=VALUE, not {pair!r}")
        out[name] = value
    return out


def table_for(tom: TomClient, args: argparse.Namespace) -> Table:
    if args.command == "query":
        params = _params(args.param)
        return tom.long_query_table(args.sql, params) if args.long else tom.query_table(args.sql, params)
    if args.command == "lightcurve":
        return tom.lightcurve(args.object_id, campaign=args.campaign, ppdb=args.ppdb)
    return tom.cone(args.ra, args.dec, args.radius, campaign=args.campaign, ppdb=args.ppdb)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.format is None:
        suffix = args.output.rsplit(".", 1)[-1].lower() if args.output and "." in args.output else ""
        args.format = SUFFIXES.get(suffix, "text")
    if args.format == "parquet" and not args.output:
        raise SystemExit("tomdesc: --format parquet needs --output FILE")
    try:
        tom = TomClient(args.url, username=args.user)
        table = table_for(tom, args)
    except TomError as exc:
        print(f"tomdesc: {exc}", file=sys.stderr)
        return 1
    writer = WRITERS[args.format]
    if args.output:
        table.write(args.output, format=writer, overwrite=True)
    else:
        table.write(sys.stdout, format=writer)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
