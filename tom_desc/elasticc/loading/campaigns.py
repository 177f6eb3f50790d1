"""Where ``load_snana_fits`` writes, per campaign: the tables and column names the loader's rows go to.

The loader (loader.py) turns a SNANA pair into rows of six *logical* tables (objects,
forced sources, sources, alerts, per-source truth, object truth) whose columns carry
ELAsTiCC's names (``"diaObjectId"``, ``"midPointTai"``, ...). A campaign's ``LoadTarget``
says which real table each logical table goes to -- a campaign may lack one: ELAsTiCC2
keeps no per-source truth -- and what each logical column is called there, or that the
campaign has no such column. Everything else (reading the files, the ids, COPY, the
transaction per pair, idempotency) is the one engine's.

ELAsTiCC's target is registered here; ELAsTiCC2 registers its own from its
``AppConfig.ready`` (elasticc2/loading.py), so this wing never imports the elasticc2 app.
Names on command lines: ``elasticc``, ``elasticc2``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from elasticc.loading.copy import Column
from elasticc.loading.errors import SnanaError

# The logical tables in the order the loader writes them (objects first: the presence probe
# reads them) and the words the summary line uses for them.
TABLES = ("objects", "forced_sources", "sources", "alerts", "truth", "object_truth")
SUMMARY_ORDER = (
    ("objects", "objects"),
    ("sources", "sources"),
    ("forced_sources", "forced sources"),
    ("alerts", "alerts"),
    ("truth", "source truth rows"),
    ("object_truth", "object truth rows"),
)

NUMPY_TYPES = {"int8": "int64", "int4": "int32", "float8": "float64", "float4": "float32", "bool": "bool"}

# "Which of these objects are stored already?" -- one probe of the objects' primary key each.
PRESENT_SQL = "SELECT {object_id} FROM {objects} WHERE {object_id} = ANY(%s)"


def quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True)
class LoadTarget:
    """The tables of one campaign as the loader sees them.

    ``tables`` maps logical tables to real ones (a logical table not listed is not written);
    ``renamed`` gives a logical column's name in this campaign where it differs from
    ``lower_case`` (or identity) applied to it; ``dropped`` lists logical columns the campaign
    has no column for; ``kinds`` gives a logical column's binary COPY type where the
    campaign's column has another type than ELAsTiCC's (binary COPY takes no casts).
    ``default_sim_version`` fills ``simVersion`` when the command gives none.
    """

    campaign: str
    description: str
    tables: Mapping[str, str]
    renamed: Mapping[str, str] = field(default_factory=dict)
    lower_case: bool = False
    dropped: frozenset[str] = frozenset()
    kinds: Mapping[str, str] = field(default_factory=dict)
    default_sim_version: str | None = None

    def column(self, logical: str) -> str | None:
        """The campaign's name of a logical column, or None when it keeps no such column."""
        if logical in self.dropped:
            return None
        if logical in self.renamed:
            return self.renamed[logical]
        return logical.lower() if self.lower_case else logical

    def columns(self, logical_columns: list[Column]) -> list[Column]:
        """The loader's columns of one table as this campaign's (renamed, unknown ones left out)."""
        out = []
        for col in logical_columns:
            name = self.column(col.name)
            if name is None:
                continue
            kind = self.kinds.get(col.name, col.kind)
            values = col.values if kind == col.kind else col.values.astype(NUMPY_TYPES[kind])
            out.append(Column(name, kind, values, col.null))
        return out

    def present_sql(self) -> str:
        return PRESENT_SQL.format(object_id=quoted(self.column("diaObjectId")), objects=quoted(self.tables["objects"]))

    def table_of(self, table_name: str) -> str | None:
        """The logical table a real table name belongs to (for error messages)."""
        return next((logical for logical, real in self.tables.items() if real == table_name), None)


ELASTICC = LoadTarget(
    campaign="elasticc",
    description="the ELAsTiCC tables",
    tables={
        "objects": "elasticc_diaobject",
        "forced_sources": "elasticc_diaforcedsource",
        "sources": "elasticc_diasource",
        "alerts": "elasticc_diaalert",
        "truth": "elasticc_diatruth",
        "object_truth": "elasticc_diaobjecttruth",
    },
    dropped=frozenset({"isddf"}),  # ELAsTiCC streamed every object on one topic
)

_TARGETS: dict[str, LoadTarget] = {}


def register(target: LoadTarget) -> None:
    """Make a campaign loadable (by its name); registering it again replaces it."""
    _TARGETS[target.campaign] = target


def names() -> list[str]:
    return sorted(_TARGETS)


def target(campaign: str) -> LoadTarget:
    """The registered target of `campaign`, or a SnanaError naming the known ones."""
    try:
        return _TARGETS[campaign]
    except KeyError:
        raise SnanaError("--campaign", f"unknown campaign {campaign!r} (known: {', '.join(names())})") from None


register(ELASTICC)
