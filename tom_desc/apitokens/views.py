"""Create, regenerate and revoke one's own REST API token (docs/api.md, "Tokens").

The card on the profile page (/users/profile/, see apps.py) and the page
/accounts/api-token/ show the token and two buttons; each button POSTs here and
comes back to the page it was pressed on. Scripts then send
``Authorization: Token <key>``. A user only ever acts on their own token (an
administrator uses ``manage.py api_token USER``). When the TOM requires
two-factor authentication for tokens (TOM_API_TOKEN_REQUIRES_MFA), creating one
asks the user to re-authenticate first, as the TOM Toolkit's own button does.
"""

from __future__ import annotations

import logging

from allauth.account.decorators import reauthentication_required
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import View
from django.views.generic import TemplateView
from tom_common.accounts.api_auth import token_expiry_date

from apitokens import tokens

security_log = logging.getLogger("tom_common.security")


def token_card_context(user) -> dict:
    """Context of the profile card (the toolkit calls it with the profile's user)."""
    return _token_context(user, next_url=reverse("user-profile"))


def _token_context(user, next_url: str) -> dict:
    token = tokens.token_of(user)
    return {"token": token, "token_expires": token_expiry_date(token), "next_url": next_url}


def _back(request) -> HttpResponseRedirect:
    """Back to the page the button was on (only a path on this site), else the token page."""
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = reverse("apitokens:page")
    return HttpResponseRedirect(target)


class TokenPageView(LoginRequiredMixin, TemplateView):
    template_name = "apitokens/token_page.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(_token_context(self.request.user, next_url=reverse("apitokens:page")))
        return context


class CreateTokenView(LoginRequiredMixin, View):
    """POST: a new token for the user; any previous one stops working at once."""

    http_method_names = ["post"]

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and getattr(settings, "TOM_API_TOKEN_REQUIRES_MFA", False):
            return reauthentication_required(super().dispatch)(request, *args, **kwargs)
        return super().dispatch(request, *args, **kwargs)

    def post(self, request):
        replaced = tokens.regenerate(request.user)[1]
        security_log.info("API token %s for %s", "regenerated" if replaced else "created", request.user.username)
        messages.success(request, "New API token created." + (" The old one no longer works." if replaced else ""))
        return _back(request)


class RevokeTokenView(LoginRequiredMixin, View):
    """POST: delete the user's token; scripts using it get 401 from then on."""

    http_method_names = ["post"]

    def post(self, request):
        deleted = tokens.revoke(request.user)
        if deleted:
            security_log.info("API token revoked by %s", request.user.username)
            messages.success(request, "API token revoked.")
        else:
            messages.info(request, "You had no API token.")
        return _back(request)
