"""Logging in as the original DESC TOM's scripts do, through gunicorn: Django's failure wording,
a lockout that answers 429, and every other password-checking route (/api/token-auth/, HTTP
Basic) limited by the same lockout and closed to password-only access for two-factor accounts."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
import requests
from allauth.mfa.models import Authenticator
from django.conf import settings
from django.contrib.auth.models import User
from django.core.cache import cache
from rest_framework.authtoken.models import Token

from tom_desc.accounts import DJANGO_INVALID_LOGIN

PASSWORD = "A-long-test-password-42"
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def no_lockouts():
    """The lockout counters live in the cache, shared with gunicorn: start and end with none,
    so that this module's failures never lock other tests out."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def victim():
    return User.objects.create_user("victim", "victim@example.org", PASSWORD)


def original_login(url: str, username: str, password: str) -> tuple[requests.Session, requests.Response]:
    """What the original's tom_client.py and sql_query_tom_db.py do, step by step."""
    rqs = requests.session()
    rqs.get(f"{url}/accounts/login/", timeout=30)
    res = rqs.post(
        f"{url}/accounts/login/",
        data={"username": username, "password": password, "csrfmiddlewaretoken": rqs.cookies["csrftoken"]},
        timeout=30,
    )
    return rqs, res


def test_wrong_password_shows_djangos_wording(live_server_url, victim, no_lockouts):
    rqs, res = original_login(live_server_url, "victim", "not-the-password")
    assert res.status_code == 200
    assert DJANGO_INVALID_LOGIN in res.text
    assert "Please enter a correct" in res.text  # what the original's clients search for
    assert "sessionid" not in rqs.cookies

    rqs, res = original_login(live_server_url, "victim", PASSWORD)
    assert res.status_code == 200 and "Please enter a correct" not in res.text
    assert "sessionid" in rqs.cookies


def test_locked_out_login_answers_429_and_tokens_keep_working(live_server_url, victim, no_lockouts):
    token = Token.objects.get_or_create(user=victim)[0].key
    statuses = [original_login(live_server_url, "victim", f"wrong-{i}")[1].status_code for i in range(6)]
    assert statuses[:5] == [200] * 5 and statuses[5] == 429, statuses

    rqs, res = original_login(live_server_url, "victim", PASSWORD)  # the right password, locked out
    assert res.status_code == 429
    assert "Too many failed login attempts" in res.text
    assert int(res.headers["Retry-After"]) > 0
    assert "sessionid" not in rqs.cookies
    assert rqs.get(f"{live_server_url}/elasticc/diaobject/", timeout=30).status_code == 401

    scripted = requests.get(
        f"{live_server_url}/elasticc/diaobject/", headers={"Authorization": f"Token {token}"}, timeout=30
    )
    assert scripted.status_code == 200, scripted.text

    cache.clear()  # the lockout has passed
    rqs, res = original_login(live_server_url, "victim", PASSWORD)
    assert res.status_code == 200 and "sessionid" in rqs.cookies


def test_token_auth_guessing_is_locked_out(live_server_url, victim, no_lockouts):
    """The review's attack: logged in as someone, 30 guesses at another account's password
    through /api/token-auth/, then the right one."""
    User.objects.create_user("attacker", password=PASSWORD)
    rqs, _res = original_login(live_server_url, "attacker", PASSWORD)
    assert "sessionid" in rqs.cookies
    url = f"{live_server_url}/api/token-auth/"
    headers = {"X-CSRFToken": rqs.cookies["csrftoken"]}
    answers = [
        rqs.post(url, data={"username": "victim", "password": f"guess-{i}"}, headers=headers, timeout=30)
        for i in range(30)
    ]
    assert {a.status_code for a in answers[:5]} == {400}
    assert {a.status_code for a in answers[5:]} == {429}
    assert answers[-1].json()["code"] == "throttled"

    right = rqs.post(url, data={"username": "victim", "password": PASSWORD}, headers=headers, timeout=30)
    assert right.status_code == 429, right.text
    assert "token" not in right.json()
    assert int(right.headers["Retry-After"]) > 0
    for key in Token.objects.filter(user__username="victim").values_list("key", flat=True):
        assert key not in right.text

    cache.clear()  # after the lockout the right password gives the token, as the toolkit's route did
    ok = requests.post(url, json={"username": "victim", "password": PASSWORD}, timeout=30)
    assert ok.status_code == 200, ok.text
    assert ok.json() == {"token": Token.objects.get(user__username="victim").key}


def test_login_page_failures_count_towards_the_token_route(live_server_url, victim, no_lockouts):
    for i in range(5):
        original_login(live_server_url, "victim", f"wrong-{i}")
    res = requests.post(
        f"{live_server_url}/api/token-auth/", data={"username": "victim", "password": PASSWORD}, timeout=30
    )
    assert res.status_code == 429


def test_basic_auth_is_locked_out_too(live_server_url, victim, no_lockouts):
    url = f"{live_server_url}/elasticc/diaobject/"
    assert requests.get(url, auth=("victim", PASSWORD), timeout=30).status_code == 200
    statuses = [requests.get(url, auth=("victim", f"guess-{i}"), timeout=30).status_code for i in range(8)]
    assert statuses[:5] == [401] * 5 and set(statuses[5:]) == {429}, statuses
    locked = requests.get(url, auth=("victim", PASSWORD), timeout=30)
    assert locked.status_code == 429 and locked.json()["code"] == "throttled"


def test_two_factor_accounts_get_no_token_for_a_password(live_server_url, victim, no_lockouts):
    Authenticator.objects.create(user=victim, type=Authenticator.Type.TOTP, data={"secret": "unused"})
    res = requests.post(
        f"{live_server_url}/api/token-auth/", data={"username": "victim", "password": PASSWORD}, timeout=30
    )
    assert res.status_code == 403
    assert "two-factor" in res.json()["detail"] and "token" not in res.json()
    basic = requests.get(f"{live_server_url}/elasticc/diaobject/", auth=("victim", PASSWORD), timeout=30)
    assert basic.status_code == 401 and "two-factor" in basic.json()["detail"]
    # a wrong password is still just wrong: nothing reveals that the account uses two factors
    wrong = requests.post(
        f"{live_server_url}/api/token-auth/", data={"username": "victim", "password": "nope"}, timeout=30
    )
    assert wrong.status_code == 400 and "two-factor" not in wrong.text


def test_token_auth_needs_both_fields(live_server_url, no_lockouts):
    res = requests.post(f"{live_server_url}/api/token-auth/", json={"username": ["x"]}, timeout=30)
    assert res.status_code == 400 and res.json()["code"] == "invalid"


def test_the_login_page_asks_two_factor_accounts_for_their_code(live_server_url, victim, no_lockouts):
    """The login page is allauth's view with the original's wording and a 429 on top (the TOM
    Toolkit's check tom_common.W003 cannot see that): the right password of a two-factor account
    leads to allauth's code challenge, not into the site."""
    Authenticator.objects.create(user=victim, type=Authenticator.Type.TOTP, data={"secret": "unused"})
    rqs, res = original_login(live_server_url, "victim", PASSWORD)
    assert res.status_code == 200 and "/accounts/2fa/authenticate/" in res.url, res.url
    assert rqs.get(f"{live_server_url}/elasticc/diaobject/", timeout=30).status_code == 401
    page = rqs.get(f"{live_server_url}/targets/", timeout=30)
    assert "/accounts/login/" in page.url  # still anonymous


@pytest.fixture
def empty_shared_cache():
    """The database cache's table (ops' migration) is no model: the flush after a test leaves it."""
    from django.db import connection

    from tom_desc.lib.cache import SHARED_CACHE_TABLE

    def empty() -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {SHARED_CACHE_TABLE}")

    empty()
    yield
    empty()


@contextmanager
def three_pods(start_site, tmp_path, cache_backend: str) -> Iterator[list[str]]:
    """Three web servers on one database, as k8s runs the site, each with a cache directory of
    its own (a pod's /tmp) and the given CACHE_BACKEND: their URLs."""
    with ExitStack() as pods:
        yield [
            pods.enter_context(start_site(workers=1, CACHE_BACKEND=cache_backend, CACHE_DIR=str(tmp_path / f"pod{i}")))
            for i in range(3)
        ]


def guesses_then_the_password(pods: list[str]) -> tuple[list[int], bool]:
    """Five wrong passwords for the victim, spread over the web pods in turn as a load balancer
    spreads them, then the right one at the pod that saw the fewest: the statuses, and whether
    the right password logged in."""
    statuses = [original_login(pods[i % len(pods)], "victim", f"wrong-{i}")[1].status_code for i in range(5)]
    rqs, res = original_login(pods[-1], "victim", PASSWORD)
    return [*statuses, res.status_code], "sessionid" in rqs.cookies


def test_web_pods_share_one_lockout_with_the_database_cache(start_site, victim, empty_shared_cache, tmp_path):
    """CACHE_BACKEND=database (the k8s and docker-compose setting): three pods, each with a cache
    directory of its own, still lock the guesser out after five failures in all."""
    from django.db import connection

    from tom_desc.lib.cache import SHARED_CACHE_TABLE

    with three_pods(start_site, tmp_path, "database") as urls:
        assert guesses_then_the_password(urls) == ([200] * 5 + [429], False)
        for url in urls:  # every pod refuses now, the right password included
            rqs, res = original_login(url, "victim", PASSWORD)
            assert res.status_code == 429 and "sessionid" not in rqs.cookies
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {SHARED_CACHE_TABLE} WHERE cache_key LIKE %s", ["%login_failed%"])
        assert cursor.fetchone()[0] > 0  # the counters are in the shared table
    assert not any((tmp_path / f"pod{i}").exists() and any((tmp_path / f"pod{i}").iterdir()) for i in range(3))


def test_with_the_file_cache_each_pod_counts_alone(start_site, victim, tmp_path):
    """Why the database cache exists: with CACHE_BACKEND=file and a directory per pod (the default
    outside k8s), three pods that saw five failures between them let the password through
    (docs/deploy.md says so)."""
    with three_pods(start_site, tmp_path, "file") as urls:
        assert guesses_then_the_password(urls) == ([200] * 6, True)


def test_a_flood_of_other_failures_does_not_wipe_a_lockout(live_server_url, victim, no_lockouts):
    """Django culls a third of a full cache at random (300 entries by default), so failures under
    a thousand other names, as guessers from many addresses could make, would wipe the victim's
    lockout. They are recorded here through the cache gunicorn shares, as the login records
    them; the victim stays locked out."""
    from allauth.core.ratelimit import consume
    from django.contrib.auth.models import AnonymousUser
    from django.test import RequestFactory

    statuses = [original_login(live_server_url, "victim", f"wrong-{i}")[1].status_code for i in range(5)]
    assert statuses == [200] * 5
    for i in range(1000):
        request = RequestFactory().post("/accounts/login/", REMOTE_ADDR=f"10.0.{i // 250}.{i % 250 + 1}")
        request.user = AnonymousUser()
        assert consume(request, action="login_failed", key=f"someone-{i}")
    assert len(list(Path(settings.CACHES["default"]["LOCATION"]).glob("*.djcache"))) > 1000
    _rqs, res = original_login(live_server_url, "victim", PASSWORD)
    assert res.status_code == 429
