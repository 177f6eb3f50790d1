from django.apps import AppConfig
from django.db.models.signals import post_migrate, post_save, pre_save


class ApiTokensConfig(AppConfig):
    """A user's REST API token: create, regenerate and revoke it from the profile page; the
    anonymous placeholder user never holds one (anonymous.py)."""

    name = "apitokens"
    verbose_name = "API tokens"

    def ready(self):
        from django.contrib.auth import get_user_model
        from rest_framework.authtoken.models import Token

        from apitokens import anonymous

        pre_save.connect(anonymous.keep_inactive, sender=get_user_model(), dispatch_uid="apitokens.keep_inactive")
        post_save.connect(anonymous.drop_token, sender=Token, dispatch_uid="apitokens.drop_token")
        # Sent for this app after guardian's (INSTALLED_APPS order), which creates the row.
        post_migrate.connect(anonymous.disarm_after_migrate, sender=self, dispatch_uid="apitokens.disarm_after_migrate")

    def profile_details(self):
        """The TOM Toolkit's hook for cards on /users/profile/ (tom_common show_app_profiles)."""
        return [{"partial": "apitokens/token_card.html", "context": "apitokens.views.token_card_context"}]
