"""The Customer associations list's filters, written in Python where the template language
would cost a few tags per option on a page read at every click (bench/RESULTS.md, throughput)."""

import html

from django import template
from django.utils.safestring import mark_safe

register = template.Library()


@register.filter
def select_options(field) -> str:
    """`<option>`s of a bound choice field, its current value selected, every text escaped:
    `<select ...>{{ field|select_options }}</select>`."""
    selected = field.value()
    return mark_safe(  # noqa: S308 (every value and label is escaped)
        "".join(
            f'<option value="{html.escape(str(value))}"{" selected" if value == selected else ""}>'
            f"{html.escape(str(label))}</option>"
            for value, label in field.field.choices
        )
    )
