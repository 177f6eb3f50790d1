"""This app's route at the site's root, in place of the TOM Toolkit's: /api/token-auth/, limited
like the login page (password_auth.py). Not namespaced: the toolkit's name for it stays."""

from django.urls import path

from apitokens.password_auth import ObtainTokenView

urlpatterns = [path("api/token-auth/", ObtainTokenView.as_view(), name="api-token-auth")]
