"""The taxonomy tables hold exactly the reference mapping."""

import pytest

from elasticc import taxonomy
from elasticc.models import ClassIdOfGentype, GentypeOfClassId

pytestmark = pytest.mark.django_db


def test_gentypeofclassid_counts():
    # 35 classIds; 31 gentypes spread over 19 exact classes; 16 classes without a gentype.
    assert GentypeOfClassId.objects.count() == 47
    assert GentypeOfClassId.objects.filter(gentype__isnull=True).count() == 16
    assert GentypeOfClassId.objects.values("classId").distinct().count() == 35
    assert sorted(GentypeOfClassId.objects.filter(classId=113).values_list("gentype", flat=True)) == [
        30,
        31,
        32,
        35,
        36,
        37,
    ]
    assert GentypeOfClassId.objects.get(classId=11).gentype is None
    assert GentypeOfClassId.objects.get(classId=221).gentype == 60


def test_classidofgentype_rows_for_a_gentype():
    rows = {(r.classId, r.exactmatch, r.categorymatch) for r in ClassIdOfGentype.objects.filter(gentype=10)}
    assert rows == {(111, True, True), (11, False, True), (1, False, False)}
    assert ClassIdOfGentype.objects.get(gentype=10, classId=111).description == "Ia"


def test_classidofgentype_totals_and_no_nulls():
    assert ClassIdOfGentype.objects.count() == 31 * 3
    assert not ClassIdOfGentype.objects.filter(gentype__isnull=True).exists()
    # Category 11 (SN-like) covers every supernova model: 1 + 5 + 6 + 1 + 1 gentypes.
    assert ClassIdOfGentype.objects.filter(classId=11, categorymatch=True, exactmatch=False).count() == 14
    # Broad class 2 (Recurring) covers the periodic variables and AGN.
    assert sorted(ClassIdOfGentype.objects.filter(classId=2).values_list("gentype", flat=True)) == [60, 80, 83, 90, 91]
    assert not ClassIdOfGentype.objects.filter(classId=2, categorymatch=True).exists()


def test_digit_helpers():
    assert taxonomy.category_of(124) == 12
    assert taxonomy.broad_class_of(124) == 1
    assert taxonomy.broad_class_of(22) == 2
    assert taxonomy.broad_class_of(0) == 0
    assert 215 in taxonomy.leaf_classids() and 11 not in taxonomy.leaf_classids()


@pytest.mark.django_db(transaction=True)
def test_reference_rows_survive_a_flush():
    from django.contrib.auth.models import Group
    from django.core.management import call_command

    call_command("flush", interactive=False, verbosity=0)
    assert GentypeOfClassId.objects.count() == 47
    assert ClassIdOfGentype.objects.count() == 93
    assert set(Group.objects.values_list("name", flat=True)) >= {"elasticc_admin", "elasticc_broker"}
