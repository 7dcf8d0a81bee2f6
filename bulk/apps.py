from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BulkConfig(AppConfig):
    name = "bulk"
    verbose_name = _("Bulk claims")

    def ready(self):
        from cpor.periodic import periodic_job_register

        from . import services

        periodic_job_register("bulk_uploads", services.bulk_uploads_resume, uses_clock=True)
