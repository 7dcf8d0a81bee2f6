"""What the property-based tests of every app's forms share (issue 7, section 6): whatever a
browser posts, the answer is never a server error, and a refusal changes nothing.

The tests themselves: tests/test_form_properties.py (the Users page, MPN IDs, language, reset,
API keys, webhooks, bulk uploads) and claims/tests/test_properties.py (the claim pages).
"""

from __future__ import annotations

import os

from django.contrib import messages
from django.db import transaction
from django.test import Client
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st

# The suite runs the same examples every time, so that a red build always means a change;
# HYPOTHESIS_EXPLORE=1 draws fresh ones, many more of them, to look for new failures.
EXPLORE = bool(os.environ.get("HYPOTHESIS_EXPLORE"))
PROPERTIES = settings(
    max_examples=300 if EXPLORE else 30,
    derandomize=not EXPLORE,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)


def untrusted_text(max_size=200):
    """Any text a browser can send: control characters and NUL included. Lone surrogates are
    left out, as no encoding on the wire can carry them."""
    return st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=max_size)


def field(*plausible):
    """A form field's value: a plausible one, any text, or nothing."""
    choices = [untrusted_text(), st.just("")]
    if plausible:
        choices.insert(0, st.sampled_from([str(value) for value in plausible]))
    return st.one_of(*choices)


def form_data(valid=None, **fields):
    """A POST or query: any subset of the fields, each with a generated value; or, given a
    `valid` one, that one with some fields dropped and some replaced by generated values, so
    that accepted requests are generated as well as refused ones."""
    generated = st.fixed_dictionaries({}, optional=fields)
    if valid is None:
        return generated
    dropped = st.lists(st.sampled_from(sorted(valid)), max_size=2, unique=True)
    return st.builds(
        lambda changed, gone: {
            **{key: value for key, value in valid.items() if key not in gone},
            **changed,
        },
        st.one_of(st.just({}), generated),
        st.one_of(st.just([]), dropped),
    )


def queued_errors(response) -> list[str]:
    """The error messages this request added (not older ones still stored)."""
    storage = getattr(response.wsgi_request, "_messages", None)
    queued = getattr(storage, "_queued_messages", [])
    return [str(message) for message in queued if message.level >= messages.ERROR]


def is_refusal(response) -> bool:
    """A form re-shown with its errors, a 4xx, or a redirect carrying an error message (a 201
    shows what was created, such as an API key's secret, once)."""
    if response.status_code == 201:
        return False
    if response.status_code in (301, 302, 303):
        return bool(queued_errors(response))
    return True


def read_whole(response) -> None:
    """A streamed answer runs its query as it is read: read it all, inside the check."""
    if getattr(response, "streaming", False):
        b"".join(response.streaming_content)


def submitted(client: Client, method: str, url: str, data: dict, state) -> object:
    """Send one generated request and check the properties: no server error; and when the
    answer is a refusal (or the request a GET), `state()` is what it was before. Whatever
    the request did is rolled back, so that every example starts from the same world."""
    with transaction.atomic():
        before = state()
        response = getattr(client, method)(url, data)
        read_whole(response)
        assert response.status_code < 500, (url, data)
        event(f"{method} {response.status_code} {'refused' if is_refusal(response) else 'accepted'}")
        if method == "get" or is_refusal(response):
            assert state() == before, (url, data, response.status_code, queued_errors(response))
        transaction.set_rollback(True)
    return response


def rows(*models):
    """A snapshot of every row of `models`, to compare before and after."""

    def state():
        return {model.__name__: list(model.objects.order_by("pk").values_list()) for model in models}

    return state
