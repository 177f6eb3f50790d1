"""The ELAsTiCC2 taxonomy tables hold exactly the original's rows (reference: its migration
0016 and /work/shared/reference/elasticc2.md), typed out here independently of the data file."""

import pytest

from elasticc2 import taxonomy
from elasticc2.models import ClassIdOfGentype, GentypeOfClassId

pytestmark = pytest.mark.django_db

# (classid, gentypes, description), the reference's table, in the original's order.
REFERENCE = [
    (0, [], "Meta"),
    (100, [], "Meta/Other"),
    (200, [], "Residual"),
    (300, [], "NotClassified"),
    (1000, [], "Static"),
    (1100, [], "Static/Other"),
    (2000, [], "Variable"),
    (2100, [], "Variable/Other"),
    (2200, [], "Non-Recurring"),
    (2210, [], "Non-Recurring/Other"),
    (2220, [], "SN-like"),
    (2221, [], "SN-like/Other"),
    (2222, [10], "Ia"),
    (2223, [20, 21, 25, 26, 27], "Ib/c"),
    (2224, [30, 31, 32, 35, 36, 37], "II"),
    (2225, [12], "Iax"),
    (2226, [11], "91bg"),
    (2230, [], "Fast"),
    (2231, [], "Fast/Other"),
    (2232, [50, 51], "KN"),
    (2233, [82], "M-dwarf Flare"),
    (2234, [84], "Dwarf Novae"),
    (2235, [87, 88, 89], "uLens"),
    (2240, [], "Long"),
    (2241, [], "Long/Other"),
    (2242, [40], "SLSN"),
    (2243, [42], "TDE"),
    (2244, [45], "ILOT"),
    (2245, [46], "CART"),
    (2246, [59], "PISN"),
    (2300, [], "Recurring"),
    (2310, [], "Recurring/Other"),
    (2320, [], "Periodic"),
    (2321, [], "Periodic/Other"),
    (2322, [90], "Cepheid"),
    (2323, [80], "RR Lyrae"),
    (2324, [91], "Delta Scuti"),
    (2325, [83], "EB"),
    (2326, [], "LPV/Mira"),
    (2330, [], "Non-Periodic"),
    (2331, [], "Non-Periodic/Other"),
    (2332, [60], "AGN"),
]
RECURRING = {60, 80, 83, 90, 91}
CATEGORY_OF = {
    2220: [10, 11, 12, 20, 21, 25, 26, 27, 30, 31, 32, 35, 36, 37],
    2230: [50, 51, 82, 84, 87, 88, 89],
    2240: [40, 42, 45, 46, 59],
    2320: [80, 83, 90, 91],
    2330: [60],
}


def test_gentypeofclassid_is_the_reference_row_for_row():
    rows = list(GentypeOfClassId.objects.order_by("id").values_list("classid", "gentype", "description"))
    expected = [(c, g, d) for c, gentypes, d in REFERENCE for g in (gentypes or [None])]
    assert rows == expected
    assert len(rows) == 54
    assert GentypeOfClassId.objects.filter(gentype__isnull=True).count() == 23
    assert GentypeOfClassId.objects.filter(gentype__isnull=False).count() == 31


def test_classidofgentype_has_four_rows_per_gentype():
    assert ClassIdOfGentype.objects.count() == 124
    gentypes = sorted(g for _, gs, _ in REFERENCE for g in gs)
    assert len(gentypes) == 31
    for gentype in gentypes:
        assert ClassIdOfGentype.objects.filter(gentype=gentype).count() == 4, gentype
    flags = ("classid", "exactmatch", "categorymatch", "generalmatch", "broadmatch", "description")
    # broad: every gentype is Variable
    assert sorted(ClassIdOfGentype.objects.filter(classid=2000).values_list("gentype", flat=True)) == gentypes
    assert set(ClassIdOfGentype.objects.filter(classid=2000).values_list(*flags)) == {
        (2000, False, False, False, True, "Variable")
    }
    # general: Non-Recurring or Recurring (no category flag, as in the original)
    for classid, description, members in (
        (2200, "Non-Recurring", [g for g in gentypes if g not in RECURRING]),
        (2300, "Recurring", sorted(RECURRING)),
    ):
        got = ClassIdOfGentype.objects.filter(classid=classid)
        assert sorted(got.values_list("gentype", flat=True)) == members
        assert set(got.values_list(*flags)) == {(classid, False, False, True, True, description)}
    # categories
    for classid, members in CATEGORY_OF.items():
        got = ClassIdOfGentype.objects.filter(classid=classid)
        assert sorted(got.values_list("gentype", flat=True)) == members
        assert set(got.values_list("exactmatch", "categorymatch", "generalmatch", "broadmatch")) == {
            (False, True, True, True)
        }
    # exact: each gentype's own class, all four flags, the class's description
    exact = {(g, c, d) for c, gs, d in REFERENCE for g in gs}
    got = ClassIdOfGentype.objects.filter(exactmatch=True)
    assert set(got.values_list("gentype", "classid", "description")) == exact
    assert set(got.values_list("categorymatch", "generalmatch", "broadmatch")) == {(True, True, True)}


def test_gentype_10_is_sn_ia_at_every_level():
    rows = {
        (r.classid, r.exactmatch, r.categorymatch, r.generalmatch, r.broadmatch, r.description)
        for r in ClassIdOfGentype.objects.filter(gentype=10)
    }
    assert rows == {
        (2222, True, True, True, True, "Ia"),
        (2220, False, True, True, True, "SN-like"),
        (2200, False, False, True, True, "Non-Recurring"),
        (2000, False, False, False, True, "Variable"),
    }
    assert GentypeOfClassId.objects.get(gentype=10).classid == 2222


def test_classid_2224_and_its_six_gentypes_both_ways():
    six = [30, 31, 32, 35, 36, 37]
    assert sorted(GentypeOfClassId.objects.filter(classid=2224).values_list("gentype", flat=True)) == six
    assert sorted(ClassIdOfGentype.objects.filter(classid=2224).values_list("gentype", flat=True)) == six
    for gentype in six:
        assert GentypeOfClassId.objects.get(gentype=gentype).classid == 2224
        assert ClassIdOfGentype.objects.get(gentype=gentype, exactmatch=True).classid == 2224
    assert set(GentypeOfClassId.objects.filter(classid=2224).values_list("description", flat=True)) == {"II"}


def test_the_data_file_is_the_code_s_source_too():
    assert [(c.classId, list(c.gentypes), c.description) for c in taxonomy.classes().values()] == REFERENCE
    assert taxonomy.exact_classid_of_gentype()[82] == 2233
    assert taxonomy.ancestors(2222) == {"exact": 2222, "category": 2220, "general": 2200, "broad": 2000}
    assert taxonomy.ancestors(2230) == {"category": 2230, "general": 2200, "broad": 2000}
    assert taxonomy.ancestors(2300) == {"general": 2300, "broad": 2000}
    assert taxonomy.ancestors(1000) == {"broad": 1000}
    with pytest.raises(ValueError, match="four-digit"):
        taxonomy.ancestors(111)


@pytest.mark.django_db(transaction=True)
def test_rows_come_back_after_a_flush():
    from django.core.management import call_command

    call_command("flush", interactive=False, verbosity=0)
    assert GentypeOfClassId.objects.count() == 54
    assert ClassIdOfGentype.objects.count() == 124
