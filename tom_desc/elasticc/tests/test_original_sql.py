"""The original DESC TOM's analysts' SQL, unchanged, through /db/runsqlquery/ on a live gunicorn: the
notebook's light-curve join of elasticc_diaalert and elasticc_diasource (once "column reference is
ambiguous"), and the metric helpers' view queries, logged in the way their clients log in."""

from __future__ import annotations

import json

import pytest
import requests

from elasticc import sqlviews
from elasticc.models import BrokerClassifier, DiaAlert, DiaForcedSource, DiaSource
from elasticc.tests.api_data import PASSWORD, make_user
from elasticc.tests.test_sqlviews import build_survey

# sql_query_tom_db.ipynb, "Example: we want to look at a SNIa lightcurve", verbatim.
NOTEBOOK_OBJECTS = (
    'SELECT "diaObjectId",ndets FROM '
    ' ( SELECT ot."diaObjectId",COUNT(s."diaSourceId") AS ndets FROM elasticc_diaobjecttruth ot '
    '   INNER JOIN elasticc_diasource s ON ot."diaObjectId"=s."diaObjectId" '
    '   INNER JOIN elasticc_diaalert a ON s."diaSourceId"=a."diaSourceId" '
    '   WHERE a."alertSentTimestamp" IS NOT NULL '
    "   AND ot.gentype=10 "
    '   GROUP BY ot."diaObjectId" ) subq '
    "   WHERE ndets > 5 LIMIT 10 "
)
NOTEBOOK_LIGHTCURVE = (
    'SELECT "midPointTai","filterName","psFlux","psFluxErr" FROM elasticc_diaforcedsource '
    'WHERE "diaObjectId"=%(objid)s '
    'AND "midPointTai" >= ( SELECT "midPointTai"-30 FROM elasticc_diasource '
    '                        WHERE "diaObjectId"=%(objid)s '
    '                        ORDER BY "midPointTai" LIMIT 1 ) '
    'AND "midPointTai" <= ( SELECT "midPointTai" FROM elasticc_diasource s '
    '                       INNER JOIN elasticc_diaalert a ON s."diaSourceId"=a."diaSourceId" '
    '                       WHERE a."alertSentTimestamp" IS NOT NULL AND s."diaObjectId"=%(objid)s'
    '                       ORDER BY s."midPointTai" DESC LIMIT 1 ) '
)


def notebook_session(url: str, username: str) -> requests.Session:
    """The notebook's login cell."""
    rqs = requests.session()
    rqs.get(f"{url}/accounts/login/")
    res = rqs.post(
        f"{url}/accounts/login/",
        data={"username": username, "password": PASSWORD, "csrfmiddlewaretoken": rqs.cookies["csrftoken"]},
    )
    if res.status_code != 200:
        raise RuntimeError(f"Failed to log in; http status: {res.status_code}")
    if "Please enter a correct" in res.text:
        raise RuntimeError("Failed to log in.  I think.  Put in a debug break and look at res.text")
    rqs.headers.update({"X-CSRFToken": rqs.cookies["csrftoken"]})
    return rqs


def run_query(rqs: requests.Session, url: str, query: str, subdict=None) -> dict:
    """The notebook's run_query, returning the whole answer so that errors can be checked."""
    result = rqs.post(f"{url}/db/runsqlquery/", json={"query": query, "subdict": subdict or {}})
    data = json.loads(result.text)
    if data.get("status") == "ok":
        assert result.status_code == 200
    return data


@pytest.mark.django_db(transaction=True)
def test_notebook_lightcurve_and_metric_views_through_db(live_server_url):
    build_survey()
    sqlviews.refresh_views()
    make_user("notebook", "elasticc_admin")
    make_user("plain")
    url = live_server_url
    admin = notebook_session(url, "notebook")

    objects = run_query(admin, url, NOTEBOOK_OBJECTS)
    assert objects["status"] == "ok", objects
    assert objects["rows"] == [{"diaObjectId": 7001, "ndets": 7}]

    curve = run_query(admin, url, NOTEBOOK_LIGHTCURVE, {"objid": 7001})
    assert curve["status"] == "ok", curve  # no "column reference "midPointTai" is ambiguous"
    first = DiaSource.objects.filter(diaObjectId=7001).order_by("midPointTai").first().midPointTai
    last_sent = max(
        DiaSource.objects.get(diaObjectId=7001, diaSourceId=a.diaSourceId).midPointTai
        for a in DiaAlert.objects.filter(diaObjectId=7001, alertSentTimestamp__isnull=False)
    )
    expected = DiaForcedSource.objects.filter(diaObjectId=7001, midPointTai__gte=first - 30, midPointTai__lte=last_sent)
    assert sorted(r["midPointTai"] for r in curve["rows"]) == sorted(f.midPointTai for f in expected)
    assert len(curve["rows"]) > 10

    rf = BrokerClassifier.objects.get(classifierName="RF").classifierId
    hist = run_query(
        admin,
        url,
        'SELECT "classifierId", "trueClassId", earlytimebin, latetimebin, probdiffbin, binmeanprobdiff, count '
        'FROM elasticc_view_maxprobdiff_hist WHERE "classifierId" = %(id)s',
        {"id": rf},
    )
    assert hist["status"] == "ok" and hist["rows"], hist
    assert all(isinstance(r["binmeanprobdiff"], str) for r in hist["rows"])  # numeric, as the original's
    metrics = run_query(
        admin,
        url,
        'SELECT tbin, probbin, count FROM elasticc_view_classifications_probmetrics WHERE "classifierId" = %(id)s',
        {"id": rf},
    )
    # RF gives two classes for every alert; those of the object without truth are left out.
    with_truth = DiaAlert.objects.filter(diaObjectId__in=[7001, 7002]).count()
    assert metrics["status"] == "ok" and sum(r["count"] for r in metrics["rows"]) == 2 * with_truth

    plain = notebook_session(url, "plain")
    totals = run_query(plain, url, "SELECT count(*) AS n FROM elasticc_view_classifiersourcetotprob")
    assert totals["status"] == "ok" and totals["rows"][0]["n"] > 0  # broker tables only: everyone
    truth_based = run_query(plain, url, "SELECT count(*) FROM elasticc_view_dedupedclassifications")
    assert truth_based["status"] == "error" and "permission denied" in truth_based["error"]
