"""The ELAsTiCC summary page's tables, counted by the site's cheap rule (tom_desc/lib/rowcounts.py:
exact for small tables, the planner's statistics, flagged, for big ones)."""

from __future__ import annotations

from tom_desc.lib.rowcounts import Count, count_table

# In display order; the admin-only tables are marked so the page can say so.
TABLES = [
    ("elasticc_diaobject", "Objects"),
    ("elasticc_diasource", "Sources"),
    ("elasticc_diaforcedsource", "Forced sources"),
    ("elasticc_diaalert", "Alerts"),
    ("elasticc_diatruth", "Source truth"),
    ("elasticc_diaobjecttruth", "Object truth"),
    ("elasticc_gentypeofclassid", "gentypes of classIds"),
    ("elasticc_classidofgentype", "classIds of gentypes"),
    ("elasticc_brokerclassifier", "Broker classifiers"),
    ("elasticc_brokermessage", "Broker messages"),
    ("elasticc_brokerclassification", "Broker classifications"),
]


def table_counts() -> list[Count]:
    return [count_table(table, label) for table, label in TABLES]
