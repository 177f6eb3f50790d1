"""The per-campaign part of the broker metrics: which tables they join and which taxonomy levels
their confusion matrices have.

The metrics engine (refresh.py, live.py, queries.py) is one; what it needs of a campaign is a
``MetricsCampaign``, looked up by name in the registry below:

- its broker tables (``elasticc.stream.brokertables``: classifiers, messages in rows or arrays,
  the alerts that count as sent), registered there by each campaign's app;
- its truth: the object truth table and the classId-of-gentype table it maps gentypes through;
- its levels: for each, how a classId is lifted to that level (SQL on ``c``) and which row of
  the classId-of-gentype table is the truth at that level. ELAsTiCC has two (exact: three digits,
  category: the first two); ELAsTiCC2's four-digit taxonomy has four (exact 2222, category 2220,
  general 2200, broad 2000), its truth rows flagged exactmatch/categorymatch/generalmatch/broadmatch;
- where its pages live (URL names), so one set of views and templates serves both.

Both campaigns are registered here, by name and table names only: brokermetrics reads
ELAsTiCC2's tables through the broker-tables registry and never imports the elasticc2 app.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from elasticc.stream import brokertables
from elasticc.taxonomy import TaxonomyClass


@dataclass(frozen=True)
class Level:
    name: str  # "exact", "category", ...
    lift: str  # SQL: the class of classId `c` at this level
    truth: str  # SQL condition on the classId-of-gentype row `t` that is the truth at this level

    @property
    def identity(self) -> bool:
        return self.lift == "c"


@dataclass(frozen=True)
class MetricsCampaign:
    campaign: str  # the broker-tables name: "elasticc", "elasticc2"
    label: str
    truth_table: str
    truth_object_id: str
    coge_table: str  # classId of gentype: gentype, classid and the match flags
    coge_classid: str
    levels: tuple[Level, ...]
    namespace: str  # the URL namespace of the broker pages: "<namespace>:brokers", "<namespace>:broker"
    index_url: str  # the campaign's landing page ("elasticc:index")
    brokers_path: str  # where its broker pages are mounted ("/elasticc/brokers/")

    @property
    def broker(self) -> brokertables.BrokerTables:
        return brokertables.get(self.campaign)

    def classes(self) -> Mapping[int, TaxonomyClass]:
        return self.broker.classes()

    def level(self, name: str) -> Level:
        for level in self.levels:
            if level.name == name:
                return level
        raise KeyError(f"{self.label} has no level {name!r}")

    @property
    def level_names(self) -> tuple[str, ...]:
        return tuple(level.name for level in self.levels)


_registry: dict[str, MetricsCampaign] = {}


def register(campaign: MetricsCampaign) -> MetricsCampaign:
    _registry[campaign.campaign] = campaign
    return campaign


def get(name: str | MetricsCampaign) -> MetricsCampaign:
    if isinstance(name, MetricsCampaign):
        return name
    try:
        return _registry[name]
    except KeyError:
        raise KeyError(f"no broker metrics for campaign {name!r} (known: {', '.join(sorted(_registry))})") from None


def registered() -> list[MetricsCampaign]:
    """The campaigns whose broker tables exist in this site, ELAsTiCC first."""
    known = set(brokertables.names())
    return [c for name, c in _registry.items() if name in known]


ELASTICC = register(
    MetricsCampaign(
        campaign="elasticc",
        label="ELAsTiCC",
        truth_table="elasticc_diaobjecttruth",
        truth_object_id="diaObjectId",
        coge_table="elasticc_classidofgentype",
        coge_classid="classId",
        levels=(
            Level("exact", "c", "t.exactmatch"),
            # A three-digit classId's first two digits; shorter ids stand for themselves.
            Level("category", "CASE WHEN c >= 100 THEN c / 10 ELSE c END", "t.categorymatch AND NOT t.exactmatch"),
        ),
        namespace="brokermetrics",
        index_url="elasticc:index",
        brokers_path="/elasticc/brokers/",
    )
)

# Four digits, one level each; ids below 1000 (Meta, Residual, NotClassified...) are outside the
# hierarchy and stand for themselves at every level.
ELASTICC2 = register(
    MetricsCampaign(
        campaign="elasticc2",
        label="ELAsTiCC2",
        truth_table="elasticc2_diaobjecttruth",
        truth_object_id="diaobject_id",
        coge_table="elasticc2_classidofgentype",
        coge_classid="classid",
        levels=(
            Level("exact", "c", "t.exactmatch"),
            Level(
                "category", "CASE WHEN c >= 1000 THEN c / 10 * 10 ELSE c END", "t.categorymatch AND NOT t.exactmatch"
            ),
            Level(
                "general", "CASE WHEN c >= 1000 THEN c / 100 * 100 ELSE c END", "t.generalmatch AND NOT t.categorymatch"
            ),
            Level(
                "broad", "CASE WHEN c >= 1000 THEN c / 1000 * 1000 ELSE c END", "t.broadmatch AND NOT t.generalmatch"
            ),
        ),
        namespace="brokermetrics2",
        index_url="elasticc2:index",
        brokers_path="/elasticc2/brokers/",
    )
)
