"""Markup the site's pages repeat, written once: the header row of a table
(templates/includes/table.html) and a button that POSTs."""

from django import template
from django.utils.html import format_html, format_html_join

register = template.Library()


@register.simple_tag
def headers(*labels, align="", hidden=""):
    """A header cell per label, its text aligned to `align` ("end" for figures); then, with
    `hidden`, the header of a column of buttons, which only screen readers read."""
    cell = '<th scope="col" class="text-end">{}</th>' if align == "end" else '<th scope="col">{}</th>'
    cells = format_html_join("", cell, ((label,) for label in labels))
    if hidden:
        cells += format_html('<th scope="col"><span class="visually-hidden">{}</span></th>', hidden)
    return cells


@register.inclusion_tag("includes/post_button.html")
def post_button(action, label, style="btn-outline-primary"):
    """A button that POSTs to `action`, in a form of its own (the inclusion passes the CSRF
    token on): `{% post_button revoke_url _("Revoke") "btn-sm btn-outline-danger" %}`."""
    return {"action": action, "label": label, "style": style}
