"""API keys: a partner's programmatic access, created, named, scoped to a role and revoked
by the partner's Global admin on the site.

The secret is shown once, when the key is created, and never stored: the table keeps its
SHA-256 (the secret is 256 random bits, so a plain hash is as strong as a slow one and
costs nothing per request) and a short visible prefix to find the row by.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from cpor.models import Role


class ApiKey(models.Model):
    partner = models.ForeignKey("cpor.Partner", on_delete=models.CASCADE, related_name="api_keys")
    # The Global admin who created the key: the API acts as this user, with the key's role.
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    name = models.CharField(_("name"), max_length=100)
    role = models.CharField(_("role"), max_length=32, choices=Role.choices)
    prefix = models.CharField(_("prefix"), max_length=16, unique=True)
    secret_sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    # Updated at most once a minute (see api.authentication), not on every request.
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")
        constraints = [
            models.CheckConstraint(condition=models.Q(role__in=Role.values), name="api_key_role_valid"),
            models.UniqueConstraint(
                fields=["partner", "name"], condition=models.Q(revoked_at__isnull=True), name="api_key_name_unique"
            ),
        ]

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None
