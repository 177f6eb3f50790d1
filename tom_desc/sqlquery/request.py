"""What an analyst's request body means: the statements to run, their parameters, the answer's shape.

The body is the original DESC TOM's: ``{"query": str | [str], "subdict": dict | [dict]}``,
or the older spelling ``{"queries": [str], "subdicts": [dict]}`` of its 2023 clients. Error
messages begin with the original's texts, which its clients and tests match on
("POST data must include 'query'", "number of queries and subdicts must match", ...).

Everything a PostgreSQL connection would mangle is refused here with a message naming
the place: a NUL character (libpq ends the statement text there, so the rest would be
dropped silently), a lone UTF-16 surrogate (no UTF-8 encoding exists), a parameter that is
a JSON object (psycopg has no meaning for it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any


class QueryError(Exception):
    """A problem with the user's request or SQL; the message is shown to the user.

    `kind` tells what stopped it: "sql" (the server refused the SQL), "request" (the body),
    "timeout", "cancelled", or "limit" (a size limit of the site).
    """

    def __init__(self, message: str, kind: str = "sql"):
        super().__init__(message)
        self.kind = kind


class BodyError(QueryError):
    """The request body cannot be run as it is (before any SQL reaches the server)."""

    def __init__(self, message: str):
        super().__init__(message, kind="request")


@dataclass
class Statement:
    sql: str
    params: dict[str, Any] | None


# psycopg2 (which the original site used) expanded a tuple after IN; with server-side
# binding the same meaning is "= ANY(array)". Only placeholders bound to lists are rewritten.
_IN_PLACEHOLDER = re.compile(r"(?i)\b(NOT\s+)?IN\s*%\((\w+)\)s")


def _rewrite_in(sql: str, params: dict[str, Any]) -> str:
    def replace(match: re.Match) -> str:
        name = match.group(2)
        if not isinstance(params.get(name), list):
            return match.group(0)
        return f"<> ALL(%({name})s)" if match.group(1) else f"= ANY(%({name})s)"

    return _IN_PLACEHOLDER.sub(replace, sql)


def _unpercent(sql: str) -> str:
    """SQL sent without parameters: '%%' means '%' when every '%' is doubled.

    The original always substituted (an empty subdict included), so its users wrote
    `x %% 10` and `LIKE 'SN%%'`; this site also takes a single '%' literally when there are no
    parameters (`LIKE 'SN%'`). Both readings agree except on a text with only doubled
    signs meant literally as '%%', which SQL never needs.
    """
    if "%" not in sql or "%" in sql.replace("%%", ""):
        return sql
    return sql.replace("%%", "%")


def _text_problem(text: str, nul_allowed: bool = False) -> str | None:
    """Why PostgreSQL cannot receive this text (None when it can)."""
    if not nul_allowed and "\x00" in text:
        return f"contains a NUL character (\\u0000) at position {text.index(chr(0)) + 1}"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return (
            f"contains a lone UTF-16 surrogate (\\u{ord(text[exc.start]):04x}) at position {exc.start + 1}, "
            "which is not a character"
        )
    return None


def _check_value(value: Any, where: str) -> None:
    """A parameter value must be what psycopg can send: null, boolean, number, string, or a list."""
    if isinstance(value, str):
        problem = _text_problem(value)
        if problem:
            raise BodyError(f"{where} {problem}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_value(item, f"{where}[{index}]")
    elif isinstance(value, dict):
        raise BodyError(
            f"{where} is a JSON object; parameters are strings, numbers, booleans, null or lists of them "
            "(send JSON as a string and cast it in SQL with ::jsonb)"
        )


def _spelled_either_way(body: dict, name: str, older: str) -> Any:
    """body[name], or body[older] (the 2023 clients' name of the list form)."""
    value, listed = body.get(name), body.get(older)
    if listed is None:
        return value
    if value is not None and value != listed:
        raise BodyError(f"give either '{name}' or '{older}' (the older name of a list), not both")
    if not isinstance(listed, list):
        raise BodyError(f"{older} must be a list, you passed a {type(listed).__name__}")
    return listed


def _queries_and_subdicts(body: dict) -> tuple[Any, Any]:
    """The (query, subdict) pair of the body, whichever spelling the client used."""
    return _spelled_either_way(body, "query", "queries"), _spelled_either_way(body, "subdict", "subdicts")


# --- statements PostgreSQL lets every role run, refused here ------------------------------------
#
# The user's transaction is read-write (temporary tables need it) and is always rolled back.
# Privileges refuse every other write, except what PostgreSQL allows any role on itself and
# on its own transaction: COMMIT (which would keep whatever preceded it), PREPARE TRANSACTION
# (which would keep the transaction and its locks after the call), and ALTER ROLE (its own
# password and settings), ALTER DEFAULT PRIVILEGES, DROP/REASSIGN OWNED, GRANT/REVOKE on
# itself. These can only be top-level statements (a transaction cannot end inside a function
# or DO block while a transaction block is open, and the roles may not create functions or
# run DO: sqlquery.roles revokes USAGE on plpgsql and sql), and PostgreSQL recognises them by
# their first words, so their first words are enough to refuse them.

_SPACE = " \t\n\r\f\v"  # PostgreSQL's whitespace
_WORD = re.compile(r"[A-Za-z_\x80-\U0010ffff][A-Za-z0-9_$\x80-\U0010ffff]*")
TRANSACTION_CONTROL = (
    "transaction control ({}) is not allowed: the statements of one call run in one transaction, which is "
    "always rolled back"
)
ROLE_COMMANDS = "{} is not allowed: the read-only roles are shared by every user of the site"


def leading_words(sql: str, count: int = 3) -> list[str]:
    """The first `count` words of a statement, upper-cased, skipping whitespace and comments
    (-- to the end of the line, and /* */, which nest) as PostgreSQL's scanner does; stops at
    anything else (a quote, a parenthesis)."""
    words: list[str] = []
    i, n = 0, len(sql)
    while i < n and len(words) < count:
        if sql[i] in _SPACE:
            i += 1
        elif sql.startswith("--", i):
            end = sql.find("\n", i)
            i = n if end < 0 else end + 1
        elif sql.startswith("/*", i):
            depth, i = 1, i + 2
            while i < n and depth:
                if sql.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif sql.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    i += 1
        else:
            match = _WORD.match(sql, i)
            if match is None:
                break
            words.append(match.group().upper())
            i = match.end()
    return words


def refusal(sql: str) -> str | None:
    """Why this statement is refused before it reaches the server (None: let PostgreSQL decide)."""
    words = [*leading_words(sql), "", "", ""]
    first, second, third = words[:3]
    if first in ("COMMIT", "END", "ABORT"):
        return TRANSACTION_CONTROL.format(first)
    if first == "ROLLBACK" and not (second == "TO" or (second in ("WORK", "TRANSACTION") and third == "TO")):
        return TRANSACTION_CONTROL.format("ROLLBACK") + " (ROLLBACK TO SAVEPOINT is allowed)"
    if first == "PREPARE" and second == "TRANSACTION":
        return TRANSACTION_CONTROL.format("PREPARE TRANSACTION")
    if (first == "ALTER" and second in ("ROLE", "USER", "GROUP", "DEFAULT")) or (
        first in ("DROP", "REASSIGN") and second == "OWNED"
    ):
        return ROLE_COMMANDS.format(f"{first} {second}")
    if first in ("GRANT", "REVOKE"):
        return ROLE_COMMANDS.format(first)
    return None


def parse_request(query: Any, subdict: Any = None) -> list[Statement]:
    """Validate query (str | [str]) and subdict (dict | [dict] | None) into statements.

    A single subdict applies to every query; a list must match the queries one to one.
    No or an empty subdict means no substitution (see _unpercent for '%').
    """
    if query is None:
        raise BodyError("POST data must include 'query': a SQL string or a list of them")
    if not isinstance(query, (str, list)):
        raise BodyError("query must be either a list of strings or a string")
    queries = [query] if isinstance(query, str) else query
    if not queries:
        raise BodyError("query must be either a list of strings or a string, not an empty list")
    if not all(isinstance(q, str) for q in queries):
        raise BodyError("queries must all be strings")
    for index, sql in enumerate(queries):
        where = "query" if len(queries) == 1 else f"query {index + 1}"
        if not sql.strip():
            raise BodyError(f"{where} is empty")
        problem = _text_problem(sql)
        if problem:
            raise BodyError(f"{where} {problem}")
    if subdict is None or isinstance(subdict, dict):
        subdicts = [subdict] * len(queries)
    elif isinstance(subdict, list):
        if not all(d is None or isinstance(d, dict) for d in subdict):
            raise BodyError("subdicts must all be dicts")
        if len(subdict) != len(queries):
            raise BodyError(
                f"number of queries and subdicts must match: {len(queries)} queries, {len(subdict)} subdicts "
                "(or give one subdict for all)"
            )
        subdicts = subdict
    else:
        raise BodyError("subdict must be either a list of dicts or a dict")
    statements = []
    for index, (sql, params) in enumerate(zip(queries, subdicts)):
        if params:
            for key, value in params.items():
                where = f"subdict key {key!r}" if len(queries) == 1 else f"subdict {index + 1} key {key!r}"
                problem = _text_problem(key)
                if problem:
                    raise BodyError(f"a subdict key {problem}")
                _check_value(value, where)
            sql = _rewrite_in(sql, params)
            statements.append(Statement(sql, dict(params)))
        else:
            statements.append(Statement(_unpercent(sql), None))
    return statements


def parse_body(body: Any) -> list[Statement]:
    """The statements of a runsqlquery/submitsqlquery body (a JSON object)."""
    if not isinstance(body, dict):
        raise BodyError("POST data must include 'query': the body must be a JSON object")
    return parse_request(*_queries_and_subdicts(body))


def normalized(body: dict) -> tuple[list[str], list[dict]]:
    """The body's queries and subdicts as stored and shown by /db/checksqlquery/: two lists of
    the same length (a missing subdict is {} for each query, as the original showed it)."""
    query, subdict = _queries_and_subdicts(body)
    queries = [query] if isinstance(query, str) else list(query)
    subdicts = subdict if isinstance(subdict, list) else [subdict or {}] * len(queries)
    return queries, [d or {} for d in subdicts]


# Answer shapes of /db/runsqlquery/, by the body's "format" (as the original): 0 (or absent)
# one object per row, 1 one list per column.
ROWS, COLUMNS = 0, 1


def answer_format(body: dict) -> int:
    value = body.get("format", ROWS)
    if value in (ROWS, COLUMNS) and not isinstance(value, bool):
        return value
    raise BodyError(
        f"Unknown return format {value!r}: 0 (rows as objects, the default) or 1 (a list per column); "
        "file formats are for /db/submitsqlquery/"
    )
