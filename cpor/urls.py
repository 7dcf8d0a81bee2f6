from django.contrib import admin
from django.shortcuts import redirect
from django.urls import include, path, reverse

from . import access


def home(request):
    """Send each person to where their work is."""
    if access.is_reviewer(request.user):
        return redirect("admin:index")
    if not request.user.is_authenticated:
        return redirect("login")
    return redirect(reverse("claims:overview"))


urlpatterns = [
    path("", home, name="home"),
    path("accounts/api-keys/", include("api.key_urls")),
    path("accounts/", include("cpor.account_urls")),
    path("incentives/", include("claims.urls")),
    path("opt-out/", include("claims.optout_urls")),
    path("notifications/", include("notifications.urls")),
    path("api/v1/", include("api.urls")),
    path("webhooks/", include("webhooks.urls")),
    path("incentives/bulk/", include("bulk.urls")),
    path("admin/", admin.site.urls),
]
