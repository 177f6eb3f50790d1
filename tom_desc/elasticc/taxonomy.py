"""The classId/gentype taxonomy, read from data/taxonomy.json (its only copy).

classIds are hierarchical: the first digit of any id is its broad class, the
first two digits its category, three digits an exact type. SNANA gentypes only
map to exact types; their categories and broad classes follow from the digits.
"""

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

DATA_FILE = Path(__file__).parent / "data" / "taxonomy.json"


@dataclass(frozen=True)
class TaxonomyClass:
    classId: int
    description: str
    gentypes: tuple[int, ...]


@lru_cache(maxsize=1)
def classes() -> dict[int, TaxonomyClass]:
    data = json.loads(DATA_FILE.read_text())
    return {c["classId"]: TaxonomyClass(c["classId"], c["description"], tuple(c["gentypes"])) for c in data["classes"]}


def category_of(class_id: int) -> int:
    """The two-digit category of a three-digit classId (a shorter id is returned as is)."""
    return class_id // 10 if class_id >= 100 else class_id


def broad_class_of(class_id: int) -> int:
    """The one-digit broad class of any classId."""
    while class_id >= 10:
        class_id //= 10
    return class_id


def exact_classid_of_gentype() -> dict[int, int]:
    return {g: c.classId for c in classes().values() for g in c.gentypes}


def gentypeofclassid_rows() -> list[dict]:
    """One row per (classId, gentype), and one with gentype None for a classId with none."""
    rows = []
    for c in classes().values():
        for gentype in c.gentypes or (None,):
            rows.append({"classId": c.classId, "gentype": gentype, "description": c.description})
    return rows


def classidofgentype_rows() -> list[dict]:
    """For every gentype: its exact classId, its category and its broad class, flagged."""
    table = classes()
    rows = []
    for gentype, exact in sorted(exact_classid_of_gentype().items()):
        for class_id, exactmatch, categorymatch in (
            (exact, True, True),
            (category_of(exact), False, True),
            (broad_class_of(exact), False, False),
        ):
            rows.append(
                {
                    "classId": class_id,
                    "gentype": gentype,
                    "exactmatch": exactmatch,
                    "categorymatch": categorymatch,
                    "description": table[class_id].description,
                }
            )
    return rows


def leaf_classids() -> list[int]:
    """The exact (three-digit) classIds, what a classifier's probabilities are spread over."""
    return sorted(c for c in classes() if c >= 100)
