from django.apps import AppConfig


class ApiTokensConfig(AppConfig):
    """A user's REST API token: create, regenerate and revoke it from the profile page."""

    name = "apitokens"
    verbose_name = "API tokens"

    def profile_details(self):
        """The TOM Toolkit's hook for cards on /users/profile/ (tom_common show_app_profiles)."""
        return [{"partial": "apitokens/token_card.html", "context": "apitokens.views.token_card_context"}]
