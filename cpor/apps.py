from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _ensure_reviewers_group(sender, **kwargs):
    # Like Django's own permissions, the Reviewers group must exist after every migrate,
    # in production too (seed_demo only adds the demo reviewer to it).
    from .demo import reviewers_group_ensure

    reviewers_group_ensure()


class CporConfig(AppConfig):
    name = "cpor"
    verbose_name = "CPOR partners"

    def ready(self):
        post_migrate.connect(_ensure_reviewers_group, sender=self, dispatch_uid="cpor.reviewers_group")
