"""Create, show or revoke a user's REST API token (the same token the profile page shows).

    python manage.py api_token USER             # print the token, creating one if needed
    python manage.py api_token USER --regenerate  # replace it with a new one
    python manage.py api_token USER --revoke    # delete it: scripts using it get 401

Scripts send it as ``Authorization: Token <key>`` (docs/api.md).
"""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from apitokens import tokens


class Command(BaseCommand):
    help = "Print (creating if needed), regenerate or revoke a user's REST API token."

    def add_arguments(self, parser):
        parser.add_argument("username", help="the user whose token to manage")
        group = parser.add_mutually_exclusive_group()
        group.add_argument("--revoke", action="store_true", help="delete the user's token")
        group.add_argument("--regenerate", action="store_true", help="replace the user's token with a new one")

    def handle(self, *args, username, revoke, regenerate, **options):
        User = get_user_model()
        try:
            user = User.objects.get(username=username)
        except User.DoesNotExist:
            raise CommandError(f"no user {username!r}") from None
        if not revoke and tokens.is_placeholder(user):
            raise CommandError(f"{username} is the placeholder for anonymous visitors; it never holds a token")
        if revoke:
            deleted = tokens.revoke(user)
            self.stdout.write(f"revoked the token of {username}" if deleted else f"{username} had no token")
            return
        if regenerate:
            token, created = tokens.regenerate(user)[0], True
        else:
            token, created = tokens.get_or_create(user)
        if created:
            self.stderr.write(f"created a token for {username}")
        self.stdout.write(token.key)
