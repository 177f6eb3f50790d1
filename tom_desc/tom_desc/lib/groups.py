"""The site's permission groups, named in one place.

- ``elasticc_admin`` reads what is kept from brokers and most users: the simulation's truth
  and alerts not yet sent (REST, SQL and pages alike);
- ``elasticc_broker`` may send broker messages over REST.

Superusers count as members of both. The groups are created by a data migration and put
back after a flush (elasticc/apps.py).
"""

from __future__ import annotations

ADMIN_GROUP = "elasticc_admin"
BROKER_GROUP = "elasticc_broker"
GROUPS = (ADMIN_GROUP, BROKER_GROUP)


def in_group(user, name: str) -> bool:
    """Group membership, asked once per request and remembered on the user object."""
    if not (user and user.is_authenticated):
        return False
    if user.is_superuser:
        return True
    cache = user.__dict__.get("_site_groups")
    if cache is None:
        cache = set(user.groups.values_list("name", flat=True))
        user.__dict__["_site_groups"] = cache
    return name in cache


def is_admin(user) -> bool:
    """May this user read truth and unsent alerts?"""
    return in_group(user, ADMIN_GROUP)
