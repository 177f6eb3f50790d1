"""The login form, also usable by scripts that post ``username`` (as the original README's example does).

The TOM Toolkit logs users in with django-allauth, whose form calls the user name
field ``login``. The original DESC TOM used Django's own login form (field
``username``), and scripts written for it post ``username``, ``password`` and
``csrfmiddlewaretoken`` to /accounts/login/. This form (settings.ACCOUNT_FORMS)
is allauth's login form with one addition: a POST that has ``username`` but no
``login`` is read as if ``login`` had been sent. The view, the page, rate limits,
two-factor authentication and the redirect after login stay allauth's.
"""

from allauth.account.forms import LoginForm


class LoginFormAcceptingUsername(LoginForm):
    def __init__(self, *args, **kwargs):
        data = kwargs.get("data")
        if data is not None and "login" not in data and "username" in data:
            data = data.copy()
            data["login"] = data["username"]
            kwargs["data"] = data
        super().__init__(*args, **kwargs)
