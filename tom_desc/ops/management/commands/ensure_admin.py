"""Create the site's first administrator if there is none yet."""

import os
import secrets

from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand
from django.db import transaction

from tom_desc.lib.groups import ADMIN_GROUP


class Command(BaseCommand):
    help = (
        "Create an administrator (superuser, member of elasticc_admin) unless the user exists. "
        "The name and password come from TOM_ADMIN_USERNAME / TOM_ADMIN_PASSWORD when set; otherwise "
        "the name is 'admin' and a random password is generated and printed this once."
    )

    @transaction.atomic
    def handle(self, *args, **options):
        username = os.environ.get("TOM_ADMIN_USERNAME") or "admin"
        password = os.environ.get("TOM_ADMIN_PASSWORD")
        user = User.objects.filter(username=username).first()
        if user is not None:
            self.stdout.write(f"Administrator {username!r} already exists; password unchanged.")
        else:
            generated = not password
            password = password or secrets.token_urlsafe(12)
            user = User.objects.create_superuser(username, email="", password=password)
            if generated:
                self.stdout.write(
                    self.style.WARNING(
                        f"Created administrator {username!r} with password {password!r} "
                        "(shown only now; set TOM_ADMIN_PASSWORD to choose one)."
                    )
                )
            else:
                self.stdout.write(f"Created administrator {username!r} with the password from TOM_ADMIN_PASSWORD.")
        user.groups.add(Group.objects.get(name=ADMIN_GROUP))
