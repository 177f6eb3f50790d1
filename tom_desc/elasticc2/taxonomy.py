"""The ELAsTiCC2 classId/gentype taxonomy, read from data/taxonomy.json (its only copy).

ELAsTiCC2 classIds have four digits, one level each: 2000 Variable (broad), 2200
Non-Recurring (general), 2220 SN-like (category), 2222 Ia (exact). SNANA gentypes map
to exact classes only; the classes above an exact one follow from its digits, so the
data file lists each class once and the two taxonomy tables are derived here. Ids
below 1000 (Meta, Residual, NotClassified...) sit outside the hierarchy.

The tables keep the original DESC TOM's rows exactly: ``elasticc2_gentypeofclassid``
has one row per gentype plus one gentype-null row for every class without one (54);
``elasticc2_classidofgentype`` gives each of the 31 gentypes four rows, exact,
category, general and broad, flagged (124).
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from elasticc.taxonomy import TaxonomyClass

DATA_FILE = Path(__file__).parent / "data" / "taxonomy.json"

# The flags of each level's row in elasticc2_classidofgentype, as the original set them:
# a row is flagged with its own level and every level above it.
LEVEL_FLAGS = {
    "exact": {"exactmatch": True, "categorymatch": True, "generalmatch": True, "broadmatch": True},
    "category": {"exactmatch": False, "categorymatch": True, "generalmatch": True, "broadmatch": True},
    "general": {"exactmatch": False, "categorymatch": False, "generalmatch": True, "broadmatch": True},
    "broad": {"exactmatch": False, "categorymatch": False, "generalmatch": False, "broadmatch": True},
}
NO_FLAGS = dict.fromkeys(LEVEL_FLAGS["exact"], False)


@lru_cache(maxsize=1)
def classes() -> dict[int, TaxonomyClass]:
    """Every classId of the taxonomy (42), in ascending order."""
    data = json.loads(DATA_FILE.read_text())
    return {c["classId"]: TaxonomyClass(c["classId"], c["description"], tuple(c["gentypes"])) for c in data["classes"]}


def ancestors(class_id: int) -> dict[str, int]:
    """{level: classId} of a four-digit classId and the classes above it, from its digits.

    2222 gives {"exact": 2222, "category": 2220, "general": 2200, "broad": 2000}; a
    category such as 2230 gives {"category": 2230, "general": 2200, "broad": 2000}.
    """
    if not 1000 <= class_id <= 9999:
        raise ValueError(f"{class_id} is not a four-digit ELAsTiCC2 classId")
    levels = {
        "exact": class_id,
        "category": class_id // 10 * 10,
        "general": class_id // 100 * 100,
        "broad": class_id // 1000 * 1000,
    }
    # A class whose lower digits are zero is that higher level itself (2230 is a category).
    for level, lower in (("exact", "category"), ("category", "general"), ("general", "broad")):
        if levels[level] == levels[lower]:
            del levels[level]
        else:
            break
    return levels


def exact_classid_of_gentype() -> dict[int, int]:
    """SNANA gentype -> the exact classId it is (31 gentypes)."""
    return {g: c.classId for c in classes().values() for g in c.gentypes}


def gentypeofclassid_rows() -> list[dict]:
    """Rows of elasticc2_gentypeofclassid in the original's order: by classId, then gentype."""
    rows = []
    for c in classes().values():
        for gentype in c.gentypes or (None,):
            rows.append({"classid": c.classId, "gentype": gentype, "description": c.description})
    return rows


def classidofgentype_rows() -> list[dict]:
    """Rows of elasticc2_classidofgentype: for every gentype, its exact class, category,
    general class and broad class, each flagged with its level and the levels above."""
    table = classes()
    rows = []
    for gentype, exact in sorted(exact_classid_of_gentype().items()):
        for level, class_id in ancestors(exact).items():
            rows.append(
                {
                    "gentype": gentype,
                    "classid": class_id,
                    **LEVEL_FLAGS[level],
                    "description": table[class_id].description,
                }
            )
    return rows


def classids_answer() -> dict[str, dict]:
    """The original's ``/elasticc2/classids`` answer: every classId (as a string key, in
    numeric order) with its match flags, description and the gentypes under it.

    A class that heads gentypes carries the flags of its level and all of them
    (ascending); a class no gentype falls under (Meta, the "Other" classes, LPV/Mira)
    has every flag false and an empty list. Key order inside each entry is the
    original's: exactmatch, categorymatch, broadmatch, generalmatch, description, gentype.
    """
    under: dict[int, dict] = {}
    for row in classidofgentype_rows():
        entry = under.setdefault(row["classid"], {"flags": row, "gentypes": []})
        entry["gentypes"].append(row["gentype"])
    answer = {}
    for class_id, c in classes().items():
        entry = under.get(class_id)
        flags = entry["flags"] if entry else NO_FLAGS
        answer[str(class_id)] = {
            "exactmatch": flags["exactmatch"],
            "categorymatch": flags["categorymatch"],
            "broadmatch": flags["broadmatch"],
            "generalmatch": flags["generalmatch"],
            "description": c.description,
            "gentype": sorted(entry["gentypes"]) if entry else [],
        }
    return answer
