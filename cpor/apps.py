from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _ensure_reviewers_group(sender, **kwargs):
    # Like Django's own permissions, the Reviewers group must exist after every migrate,
    # in production too (seed_demo only adds the demo reviewer to it). It runs after each
    # app's permissions are created: the apps it reads (tenants, claims) come after cpor, so
    # on a fresh database a single run after cpor's would leave the group without theirs.
    from .reviewers import reviewers_group_ensure

    reviewers_group_ensure()


class CporConfig(AppConfig):
    name = "cpor"
    verbose_name = "CPOR partners"

    def ready(self):
        post_migrate.connect(_ensure_reviewers_group, dispatch_uid="cpor.reviewers_group")
