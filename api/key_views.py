"""The Global admin's API keys page, mounted at /accounts/api-keys/ (namespace "api_keys").

A new key's secret is shown once, on the answer to the form, and never again.
"""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from cpor.access import MANAGE_USERS, partner_required

from . import selectors, services
from .forms import ApiKeyForm


def _render_keys(request, form, *, status=200, created=None, secret=None):
    keys = [(key, selectors.creator_may_act(key)) for key in selectors.api_keys_of(request.user)]
    response = render(
        request,
        "api/keys.html",
        {
            "nav": "api_keys",
            "breadcrumbs": [(_("Organisation"), None), (_("API keys"), None)],
            "keys": keys,
            "form": form,
            "created": created,
            "secret": secret,
            "docs_url": reverse("api:docs"),
        },
        status=status,
    )
    # The page may hold a secret: no cache keeps it.
    response["Cache-Control"] = "no-store"
    return response


@require_http_methods(["GET", "POST"])
@partner_required(MANAGE_USERS)
def api_keys(request):
    """API keys: the partner's keys with their role, creator and last use; create one."""
    if request.method == "POST":
        form = ApiKeyForm(request.POST)
        if form.is_valid():
            try:
                key, secret = services.api_key_create(actor=request.user, **form.cleaned_data)
            except services.ApiKeyError as error:
                form.add_error("name", str(error))
            else:
                return _render_keys(request, ApiKeyForm(), status=201, created=key, secret=secret)
        return _render_keys(request, form, status=400)
    return _render_keys(request, ApiKeyForm())


@require_POST
@partner_required(MANAGE_USERS)
def api_key_revoke(request, pk):
    key = selectors.api_key_get_for_user(request.user, pk)
    try:
        services.api_key_revoke(actor=request.user, key_id=key.pk)
    except services.ApiKeyError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("The key “%(name)s” is revoked: it no longer works.") % {"name": key.name})
    return redirect("api_keys:list")
