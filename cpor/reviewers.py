"""The Reviewers group: its name and its permissions, in one place.

Reviewers are vendor staff (PRODUCT.md section 1). The group exists after every `migrate`,
production included (`cpor.apps`); `cpor.access.is_reviewer` asks for membership of it.
"""

from django.contrib.auth.models import Group, Permission
from django.db.models import Q

REVIEWERS_GROUP = "Reviewers"
# Reviewers see and change claims and master data, and write comments (PRODUCT.md section 1).
REVIEWER_APPS = ("claims", "tenants", "cpor")
REVIEWER_EXTRA_PERMISSIONS = (("claims", "add_comment"),)
# Users and memberships they only read: changing them would let a reviewer act as a partner
# (cpor/admin.py says why; the admin refuses it whatever the group holds).
REVIEWER_READ_ONLY_MODELS = (("cpor", "user"), ("cpor", "membership"))


def reviewers_group_ensure() -> tuple[Group, bool]:
    """The Reviewers group with exactly its permissions: view and change on every model of
    claims, tenants and cpor except users and memberships (view only), and add on claims'
    comments. Returns it and whether it changed."""
    group, created = Group.objects.get_or_create(name=REVIEWERS_GROUP)
    wanted = Q(content_type__app_label__in=REVIEWER_APPS) & (
        Q(codename__startswith="view_") | Q(codename__startswith="change_")
    )
    for app_label, model in REVIEWER_READ_ONLY_MODELS:
        wanted &= ~Q(content_type__app_label=app_label, content_type__model=model, codename__startswith="change_")
    for app_label, codename in REVIEWER_EXTRA_PERMISSIONS:
        wanted |= Q(content_type__app_label=app_label, codename=codename)
    permissions = set(Permission.objects.filter(wanted))
    if set(group.permissions.all()) == permissions:
        return group, created
    group.permissions.set(permissions)
    return group, True
