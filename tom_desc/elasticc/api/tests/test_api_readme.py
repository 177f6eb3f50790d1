"""The original DESC TOM README's example script, unchanged, against a live gunicorn.

The script is the README's, character for character, except the three
configuration lines (url, username, password), which are set for the test
server. It logs in by posting ``username`` with the CSRF token, lists objects
and fetches one.
"""

import ast
import json
import subprocess
import sys

import pytest

from elasticc.tests.api_data import PASSWORD, make_user, seed

README_SCRIPT = """
import requests
import json

# Configure

url = 'https://desc-tom.lbl.gov'
username = '<your TOM username>'
password = '<your TOM password>'

# Log in.
# Note that Django is *very* particular about trailing slashes.

rqs = requests.session()
rqs.get( f'{url}/accounts/login/' )
rqs.post( f'{url}/accounts/login/',
          data={ 'username': username,
                 'password': password,
                 'csrfmiddlewaretoken': rqs.cookies['csrftoken'] } )
csrfheader = { 'X-CSRFTokien': rqs.cookies['csrftoken'] }

# Pull down information about objects

response = rqs.get( f'{url}/elasticc/diaobject/' )
data = json.loads( response.text )
print( data.keys() )
print( data['count'] )
print( len( data['results'] ) )
print( json.dumps( data['results'][0], indent=4 ) )

# Pull down information about one object (pick #5 from the list for no
# good reason).  This is gratuitous, because all that information was
# already in the list we just downloaded, but really this is just here
# to demonstrate the API

objid = data['results'][5]['diaObjectId']
response = rqs.get( f'{url}/elasticc/diaobject/{objid}/' )
data = json.loads( response.text )
print( data.keys() )
print( f'{data["ra"]}  {data["decl"]}' )
"""


def configured(script: str, url: str, username: str, password: str) -> str:
    return (
        script.replace("'https://desc-tom.lbl.gov'", repr(url))
        .replace("'<your TOM username>'", repr(username))
        .replace("'<your TOM password>'", repr(password))
    )


@pytest.mark.django_db(transaction=True)
def test_readme_example_runs_unchanged(live_server_url, tmp_path):
    data = seed(n_objects=130, sources_per_object=1, forced_per_object=1)
    make_user("readme_user")
    script = tmp_path / "readme_example.py"
    script.write_text(configured(README_SCRIPT, live_server_url, "readme_user", PASSWORD))

    run = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    list_keys = ast.literal_eval(lines[0].removeprefix("dict_keys(").removesuffix(")"))
    assert {"count", "next", "previous", "results"} <= set(list_keys)
    assert int(lines[1]) == 130
    assert int(lines[2]) == 100
    first = json.loads("\n".join(lines[3 : lines.index("}") + 1]))
    assert first["diaObjectId"] == data.object_ids[0]
    detail_keys = ast.literal_eval(lines[-2].removeprefix("dict_keys(").removesuffix(")"))
    assert {"diaObjectId", "ra", "decl", "mwebv", "z_final"} <= set(detail_keys)
    sixth = data.object_ids[5]
    assert lines[-1].split() == [str(float(sixth % 360)), str(float(sixth % 180 - 90))]


@pytest.mark.django_db(transaction=True)
def test_readme_example_with_a_wrong_password_does_not_get_data(live_server_url, tmp_path):
    seed(n_objects=6, sources_per_object=1, forced_per_object=1)
    make_user("readme_user2")
    script = tmp_path / "readme_example.py"
    script.write_text(configured(README_SCRIPT, live_server_url, "readme_user2", "not-the-password"))
    run = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert run.returncode != 0
    assert "dict_keys(['status', 'code', 'detail'])" in run.stdout  # the JSON 401, not a login page


def test_browser_login_form_still_uses_allauths_field(client, db):
    page = client.get("/accounts/login/")
    assert page.status_code == 200
    assert 'name="login"' in page.content.decode()
    make_user("browser_user")
    response = client.post("/accounts/login/", {"login": "browser_user", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get("/elasticc/diaobject/").status_code == 200
