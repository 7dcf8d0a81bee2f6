"""Moments on the partner's and the reviewer's pages, each naming the zone it is shown in."""

from django import template

from claims.presentation import format_moment

register = template.Library()


@register.filter
def moment(value, time_zone=""):
    """`{{ claim.submitted_at|moment }}` in the reader's zone;
    `{{ claim.opt_out_deadline|moment:claim.tenant.time_zone }}` in the customer's."""
    return format_moment(value, time_zone=time_zone or None) if value else ""


@register.filter
def short_moment(value):
    """The same, in the short format of lists and file lines."""
    return format_moment(value, style="SHORT_DATETIME_FORMAT") if value else ""
