from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ApiConfig(AppConfig):
    """The partner REST API under /api/v1/ and the API keys a Global admin manages."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "api"
    verbose_name = _("Partner API")
