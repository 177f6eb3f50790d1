"""The ELAsTiCC HTML pages through Django's test client, on the hand-built case of
elasticc/pages/tests/handbuilt.py (known truth, known classifications). The broker pages'
tests are brokermetrics/tests/test_pages.py."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import Group, User

from elasticc.models import BrokerDeadLetter, BrokerPollStatus, DiaObject
from elasticc.pages import search
from elasticc.pages.tests.support import assert_login_required, assert_no_truth, page

pytestmark = pytest.mark.django_db


def all_urls(a, b):
    return [
        "/elasticc/",
        "/elasticc/objects/",
        "/elasticc/objects/?mode=cone&ra=150.003&dec=2.003&radius=30",
        f"/elasticc/objects/?mode=classification&classifier={a}&classid=121&minprob=0",
        "/elasticc/summary",
    ] + [f"/elasticc/objects/{i}/" for i in range(1, 7)]


def test_pages_need_login(client, case):
    a, b = case
    assert_login_required(client, all_urls(a, b))


def test_empty_database_says_so(astronomer):
    assert 'id="no-objects"' in page(astronomer, "/elasticc/")
    assert 'id="no-results"' in page(astronomer, "/elasticc/objects/")
    html = page(astronomer, "/elasticc/summary")
    assert 'id="no-poller"' in html and 'id="no-alerts-per-mjd"' in html


def test_landing(astronomer, case):
    html = page(astronomer, "/elasticc/")
    assert 'data-table="elasticc_diaobject">6<' in html
    assert 'data-table="elasticc_brokermessage">9<' in html
    assert "Broker metrics as of" in html


def test_browse_objects_is_keyset_paginated(astronomer):
    DiaObject.objects.bulk_create(
        DiaObject(diaObjectId=1000 + i, ra=10.0, decl=-5.0) for i in range(search.PAGE_SIZE + 5)
    )
    html = page(astronomer, "/elasticc/objects/")
    assert html.count('href="/elasticc/objects/10') == search.PAGE_SIZE
    next_url = re.search(r'href="([^"]+)" rel="next"', html).group(1).replace("&amp;", "&")
    assert next_url.endswith(f"after={1000 + search.PAGE_SIZE - 1}")
    second = page(astronomer, next_url)
    assert second.count('href="/elasticc/objects/10') == 5
    assert 'rel="next"' not in second and 'rel="first"' in second


def test_search_by_id(astronomer, case):
    response = astronomer.get("/elasticc/objects/?mode=id&id=3")
    assert response.status_code == 302 and response.url == "/elasticc/objects/3/"
    assert "No object with diaObjectId 99" in page(astronomer, "/elasticc/objects/?mode=id&id=99")
    assert "whole number" in page(astronomer, "/elasticc/objects/?mode=id&id=abc")


def test_cone_search(astronomer, case):
    html = page(astronomer, "/elasticc/objects/?mode=cone&ra=150.003&dec=2.003&radius=3")
    assert re.findall(r'href="/elasticc/objects/(\d+)/"', html) == ["3"]
    html = page(astronomer, "/elasticc/objects/?mode=cone&ra=150.003&dec=2.003&radius=20")
    # nearest first: 3 (0"), then 4 and 2 (5.09", 4 a hair closer: its RA offset shrinks more with cos(dec)),
    # then 5 and 1 (10.2"), 6 (15.3")
    assert re.findall(r'href="/elasticc/objects/(\d+)/"', html) == ["3", "4", "2", "5", "1", "6"]
    assert 'id="no-results"' in page(astronomer, "/elasticc/objects/?mode=cone&ra=10&dec=2&radius=20")
    assert "at most 3600" in page(astronomer, "/elasticc/objects/?mode=cone&ra=150&dec=2&radius=99999")


def test_cone_search_across_ra_zero_and_near_the_pole():
    DiaObject.objects.bulk_create(
        [
            DiaObject(diaObjectId=1, ra=359.999, decl=0.0),
            DiaObject(diaObjectId=2, ra=0.0005, decl=0.0),
            DiaObject(diaObjectId=3, ra=200.0, decl=89.9999),
        ]
    )
    assert [r[0] for r in search.cone(0.0, 0.0, 5.0)] == [2, 1]  # 1.8" and 3.6" across RA 0
    assert [r[0] for r in search.cone(20.0, 89.9999, 5.0)] == [3]
    with pytest.raises(search.SearchError):
        search.cone(400.0, 0.0, 5.0)


def test_cone_search_reads_the_gist_index(monkeypatch):
    """The cone's boxes are written so that the planner can use elasticc_diaobject_radec."""
    from django.db import connection

    DiaObject.objects.bulk_create(
        DiaObject(diaObjectId=i, ra=(i * 7.3) % 360, decl=(i * 3.1) % 180 - 90) for i in range(1, 2001)
    )
    plans = []
    real_cursor = connection.cursor

    def explaining_cursor():
        cur = real_cursor()
        execute = cur.execute

        def run(sql, params=None):
            if "point(ra, decl)" in sql:
                execute("SET LOCAL enable_seqscan = off")  # a 2000-row table would be scanned otherwise
                execute("EXPLAIN " + sql, params)
                plans.append("\n".join(r[0] for r in cur.fetchall()))
            return execute(sql, params)

        cur.execute = run
        return cur

    monkeypatch.setattr(connection, "cursor", explaining_cursor)
    for ra in (0.0, 120.0):  # one box, and two boxes across RA 0
        search.cone(ra, 10.0, 600.0)
    assert len(plans) == 2
    for plan in plans:
        assert "elasticc_diaobject_radec" in plan and "Seq Scan" not in plan, plan


def test_search_by_classification(astronomer, case):
    a, _ = case
    html = page(astronomer, f"/elasticc/objects/?mode=classification&classifier={a}&classid=121&minprob=0.5")
    # classifier A gave 121 a probability >= 0.5 for alerts 401 (.9), 402 (.5) and 501 (.6)
    assert re.findall(r'#alert-(\d+)"', html) == ["401", "402", "501"]
    html = page(astronomer, f"/elasticc/objects/?mode=classification&classifier={a}&classid=135")
    assert 'id="no-results"' in html


def test_object_page(astronomer, case):
    a, _b = case
    html = page(astronomer, "/elasticc/objects/4/")
    assert 'id="lightcurve"' in html and 'id="lightcurve-data"' in html
    assert 'id="alert-401"' in html and 'id="alert-402"' in html
    assert f'href="/elasticc/brokers/{a}/"' in html
    assert "121 KN: 0.50" in html  # the latest message (alert 402) of classifier A
    assert "not sent" not in html
    assert astronomer.get("/elasticc/objects/999/").status_code == 404


LATEST_OF_102 = "113 II: 1.00"


def test_unsent_alerts_only_for_elasticc_admin(client, astronomer, case):
    """Alert 102 of object 1 is not sent: the REST API shows it to elasticc_admin only, and so
    does the page (its id, source, MJD 61003.100, flux and S/N, and the message about it)."""
    html = page(astronomer, "/elasticc/objects/1/")
    assert 'id="alert-101"' in html
    assert 'id="alert-102"' not in html and "not sent" not in html and "61003.100" not in html
    assert LATEST_OF_102 not in html and "111 Ia: 0.70" in html  # classifier A's latest is about 101
    for user in (User.objects.create_user("boss", password="x"), User.objects.create_superuser("root", password="x")):
        if not user.is_superuser:
            user.groups.add(Group.objects.get(name="elasticc_admin"))
        client.force_login(user)
        html = page(client, "/elasticc/objects/1/")
        assert 'id="alert-101"' in html and 'id="alert-102"' in html and "not sent" in html
        assert "61003.100" in html and LATEST_OF_102 in html


def test_admins_see_truth_on_the_object_page(admin_client, case):
    html = page(admin_client, "/elasticc/objects/4/")
    assert re.search(r'id="truth-gentype">50<', html)
    assert re.search(r'id="truth-classid">121 KN<', html)
    assert 'id="truth-missing"' in page(admin_client, "/elasticc/objects/6/")


def test_non_admins_never_see_truth(astronomer, case):
    a, b = case
    assert_no_truth(astronomer, all_urls(a, b))


def test_summary_shows_pollers_and_alerts_per_simulated_day(astronomer, case):
    now = datetime.now(UTC)
    common = dict(host="h", groupId="g", topics="t", started=now - timedelta(hours=1), messagesStored=12)
    BrokerPollStatus.objects.create(
        pollerId="fresh@h:1", pollerName="fresh", pid=1, state="running", lastPoll=now, lag=3, **common
    )
    BrokerPollStatus.objects.create(
        pollerId="old@h:2",
        pollerName="old",
        pid=2,
        state="running",
        lastPoll=now - timedelta(hours=2),
        lag=None,
        **common,
    )
    BrokerPollStatus.objects.create(
        pollerId="done@h:3",
        pollerName="done",
        pid=3,
        state="stopped",
        lastPoll=now - timedelta(hours=3),
        lag=0,
        **common,
    )
    BrokerDeadLetter.objects.create(
        pollerName="fresh", groupId="g", topic="t", partition=0, offset=7, reason="not Avro"
    )
    html = page(astronomer, "/elasticc/summary")
    fresh = re.search(r'data-poller="fresh@h:1".*?</tr>', html, re.S).group(0)
    old = re.search(r'data-poller="old@h:2".*?</tr>', html, re.S).group(0)
    done = re.search(r'data-poller="done@h:3".*?</tr>', html, re.S).group(0)
    assert "running" in fresh and 'data-lag="3"' in fresh and "table-danger" not in fresh
    assert "silent" in old and "table-danger" in old
    assert "stopped" in done and "silent" not in done and "table-danger" not in done
    assert re.search(r'id="dead-letters">[^<]*:\s*1, 1 in the last 24 h', html)
    assert 'id="alerts-per-mjd-data"' in html and "[61000, 4]" in html


def test_tom_toolkit_pages_reference_no_other_host(client):
    """The site's frame and template overrides cover the toolkit's pages too (Aladin, JS9, js-base64)."""
    from tom_targets.models import Target

    client.force_login(User.objects.create_superuser("root", password="x-long-password"))
    target = Target.objects.create(name="sn-test", type="SIDEREAL", ra=150.0, dec=2.0)
    for url in (
        "/",
        "/targets/",
        f"/targets/{target.pk}/",
        f"/targets/{target.pk}/share/",
        "/dataproducts/data/",
        "/accounts/login/",
    ):
        html = page(client, url)
        assert "/static/vendor/bootstrap/css/bootstrap.min.css" in html, url
    assert 'id="finderchart-offline"' in page(client, f"/targets/{target.pk}/")
