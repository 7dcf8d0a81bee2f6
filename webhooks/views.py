"""Webhooks pages for the Global admin: thin views over `webhooks.services`.

Anonymous → sign-in; another role → 403; another partner's endpoint or delivery → 404.
"""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cpor.access import MANAGE_USERS, partner_required

from . import selectors, services
from .forms import EndpointForm
from .models import MessageStatus

admin_required = partner_required(MANAGE_USERS)
# The secret is handed from the POST that made it to the next page, once, in the session.
SECRET_ONCE = "webhooks.secret_once"  # noqa: S105 - a session key, not a secret


def _breadcrumbs(*extra):
    return [(_("Webhooks"), reverse("webhooks:list")), *extra]


def _form_page(request, form, title, *breadcrumbs):
    """The endpoint form's page, to add an endpoint or change one."""
    context = {"form": form, "title": title, "nav": "webhooks", "breadcrumbs": _breadcrumbs(*breadcrumbs)}
    return render(request, "webhooks/form.html", context)


def _endpoint_settings(form) -> dict:
    """What the endpoint form sets, as the services take it."""
    return {name: form.cleaned_data[name] for name in ("url", "events", "description")}


def _show_secret_once(request, endpoint_pk, secret):
    request.session[SECRET_ONCE] = {"endpoint": endpoint_pk, "secret": secret}


@admin_required
def endpoint_list(request):
    return render(
        request,
        "webhooks/list.html",
        {"endpoints": selectors.endpoint_list_visible_to(request.user), "nav": "webhooks"},
    )


@admin_required
def endpoint_create(request):
    form = EndpointForm(request.POST or None, submit_label=_("Add endpoint"))
    if request.method == "POST" and form.is_valid():
        try:
            endpoint, secret = services.webhook_endpoint_create(user=request.user, **_endpoint_settings(form))
        except services.WebhookError as error:
            form.add_error(None, error.message)
        else:
            _show_secret_once(request, endpoint.pk, secret)
            messages.success(request, _("The endpoint is registered."))
            return redirect("webhooks:detail", endpoint.pk)
    return _form_page(request, form, _("Add an endpoint"), (_("Add an endpoint"), None))


@admin_required
def endpoint_detail(request, pk):
    endpoint = selectors.endpoint_get_for_user(request.user, pk)
    shown = request.session.pop(SECRET_ONCE, None)
    secret = shown["secret"] if shown and shown.get("endpoint") == endpoint.pk else None
    return render(
        request,
        "webhooks/detail.html",
        {
            "endpoint": endpoint,
            "secret": secret,
            "event_labels": [str(services.EVENT_TYPES.get(action, action)) for action in endpoint.events],
            "deliveries": selectors.endpoint_messages(endpoint),
            "MessageStatus": MessageStatus,
            "nav": "webhooks",
            "breadcrumbs": _breadcrumbs((endpoint.url, None)),
        },
    )


@admin_required
def endpoint_edit(request, pk):
    endpoint = selectors.endpoint_get_for_user(request.user, pk)
    initial = {
        "url": endpoint.url,
        "description": endpoint.description,
        "events": endpoint.events,
        "is_active": endpoint.is_active,
    }
    form = EndpointForm(request.POST or None, initial=initial, submit_label=_("Save"))
    if request.method == "POST" and form.is_valid():
        try:
            services.webhook_endpoint_update(
                user=request.user,
                endpoint_id=endpoint.pk,
                is_active=form.cleaned_data["is_active"],
                **_endpoint_settings(form),
            )
        except services.WebhookError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("The endpoint is saved."))
            return redirect("webhooks:detail", endpoint.pk)
    endpoint_crumb = (endpoint.url, reverse("webhooks:detail", args=[endpoint.pk]))
    return _form_page(request, form, _("Change the endpoint"), endpoint_crumb, (_("Change"), None))


@require_POST
@admin_required
def endpoint_rotate_secret(request, pk):
    endpoint = selectors.endpoint_get_for_user(request.user, pk)
    secret = services.webhook_endpoint_rotate_secret(user=request.user, endpoint_id=endpoint.pk)
    _show_secret_once(request, endpoint.pk, secret)
    messages.success(request, _("A new signing secret is in use from now on."))
    return redirect("webhooks:detail", endpoint.pk)


@require_POST
@admin_required
def endpoint_delete(request, pk):
    endpoint = selectors.endpoint_get_for_user(request.user, pk)
    services.webhook_endpoint_delete(user=request.user, endpoint_id=endpoint.pk)
    messages.success(request, _("The endpoint has been removed."))
    return redirect("webhooks:list")


@require_POST
@admin_required
def message_redeliver(request, pk, message_pk):
    endpoint = selectors.endpoint_get_for_user(request.user, pk)
    if not endpoint.messages.filter(pk=message_pk).exists():
        raise Http404
    try:
        services.webhook_message_redeliver(user=request.user, message_id=message_pk)
    except services.WebhookError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("The event will be sent again."))
    return redirect(f"{reverse('webhooks:detail', args=[endpoint.pk])}#deliveries")
