"""sql_query_tom_db.py (the analysts' client) against a live gunicorn: sync, async and error paths."""

import csv
import importlib.util
import subprocess
import sys

import pytest
from astropy.table import Table
from rest_framework.authtoken.models import Token

from elasticc.models import BrokerClassifier
from sqlquery.tests.conftest import PROJECT_DIR, runner_env, start_runner

SCRIPT = PROJECT_DIR.parent / "sql_query_tom_db.py"
PASSWORD = "Client-Test-pw-9731"
SQL = 'SELECT "classId", gentype, description FROM elasticc_gentypeofclassid WHERE "classId" = 113 ORDER BY gentype'


def client_module():
    spec = importlib.util.spec_from_file_location("sql_query_tom_db", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_client(*args, timeout=120):
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def account(django_user_model, tmp_path):
    user = django_user_model.objects.create_user("sqlclient", password=PASSWORD)
    token, _ = Token.objects.get_or_create(user=user)
    (tmp_path / "pw").write_text(PASSWORD + "\n")
    (tmp_path / "token").write_text(token.key)
    return {
        "user": user,
        "password_file": str(tmp_path / "pw"),
        "token": token.key,
        "token_file": str(tmp_path / "token"),
    }


@pytest.mark.django_db(transaction=True)
def test_sync_table_csv_and_token(live_server_url, account, tmp_path):
    login = ["--url", live_server_url, "--user", "sqlclient", "--password-file", account["password_file"]]
    result = run_client(*login, SQL)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["classId", "|", "gentype", "|", "description"]
    assert [line.split("|")[1].strip() for line in lines[2:8]] == ["30", "31", "32", "35", "36", "37"]
    assert lines[-1] == "(6 rows)"

    out = tmp_path / "rows.csv"
    result = run_client(
        "--url",
        live_server_url,
        "--token-file",
        account["token_file"],
        "--csv",
        str(out),
        'SELECT "classId", gentype FROM elasticc_gentypeofclassid WHERE "classId" IN %(c)s ORDER BY 2',
        "--list-param",
        "c=113,121",
    )
    assert result.returncode == 0, result.stderr
    rows = list(csv.reader(out.open()))
    assert rows[0] == ["classId", "gentype"] and ["121", "50"] in rows and len(rows) == 9


@pytest.mark.django_db(transaction=True)
def test_errors_are_reported(live_server_url, account, tmp_path):
    result = run_client("--url", live_server_url, "--token", account["token"], "SELECT * FROM auth_user")
    assert result.returncode == 1 and "permission denied for table auth_user" in result.stderr
    (tmp_path / "bad").write_text("not the password")
    result = run_client(
        "--url", live_server_url, "--user", "sqlclient", "--password-file", str(tmp_path / "bad"), "SELECT 1"
    )
    assert result.returncode == 1 and "login as 'sqlclient' failed" in result.stderr
    result = run_client("--url", live_server_url, "--token", "wrong", "SELECT 1")
    assert result.returncode == 1 and "HTTP 401" in result.stderr


@pytest.mark.django_db(transaction=True)
def test_module_use_and_async(live_server_url, account, tmp_path):
    BrokerClassifier.objects.create(brokerName="lasair", brokerVersion="2", classifierName="c", classifierParams="p")
    module = client_module()
    tom = module.TomClient(live_server_url, username="sqlclient", password=PASSWORD)
    rows = tom.query('SELECT "brokerName" FROM elasticc_brokerclassifier WHERE "brokerName" = %(b)s', {"b": "lasair"})
    assert rows == [{"brokerName": "lasair"}]
    with pytest.raises(module.TomError, match="syntax error"):
        tom.query("SELEC 1")

    # --async: the client submits and polls while a runner (started afterwards) does the work.
    out = tmp_path / "async.csv"
    client = subprocess.Popen(
        [
            sys.executable,
            str(SCRIPT),
            "--url",
            live_server_url,
            "--user",
            "sqlclient",
            "--password-file",
            account["password_file"],
            "--async",
            "--output",
            str(out),
            "SELECT g, g * 2 AS twice FROM generate_series(1, %(n)s::int) g",
            "--param",
            "n=5000",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    runner = start_runner(runner_env(), lean=False)  # the full site settings work too
    try:
        _stdout, stderr = client.communicate(timeout=180)
    finally:
        runner.terminate()
        runner.communicate(timeout=60)
    assert client.returncode == 0, stderr
    assert "finished" in stderr and f"results written to {out}" in stderr
    rows = list(csv.reader(out.open()))
    assert rows[0] == ["", "g", "twice"] and len(rows) == 5001 and rows[-1] == ["4999", "5000", "10000"]

    # a failing long query: the client reports the server's error
    with pytest.raises(module.TomError, match="permission denied"):
        queryid = tom.submit("SELECT * FROM django_session")
        runner = start_runner(runner_env(), "--exit-when-idle")
        runner.communicate(timeout=120)
        tom.wait(queryid, first_interval=0.2)

    # a long query to ECSV: astropy reads it back with the units of the columns it knows
    queryid = tom.submit('SELECT 1.5::real AS "psFlux", 60000.25::float8 AS "midPointTai"', fmt="ecsv")
    runner = start_runner(runner_env(), "--exit-when-idle")
    runner.communicate(timeout=120)
    tom.wait(queryid, first_interval=0.2)
    table = Table.read(tom.download(queryid, tmp_path / "units.ecsv"), format="ascii.ecsv")
    assert [(c, str(table[c].unit), table[c][0]) for c in table.colnames] == [
        ("psFlux", "nJy", 1.5),
        ("midPointTai", "d", 60000.25),
    ]
