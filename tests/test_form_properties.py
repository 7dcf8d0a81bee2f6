"""Property-based tests of the forms of cpor's pages (issue 7, section 6): whatever a browser
posts, the answer is never a server error, and a refusal changes nothing.

The helpers here are shared with the other apps' property tests (claims/tests/test_properties.py).
"""

from __future__ import annotations

import os

import pytest
from django.contrib import messages
from django.db import transaction
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from cpor.models import Membership, MpnId, Role, User
from cpor.tests.factories import MpnIdFactory, partner_user

pytestmark = pytest.mark.django_db

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


# --- cpor's own forms: the Users page, the MPN IDs' programmes, the language ---------------------


@pytest.fixture
def team(partner):
    admin = partner_user(partner, Role.GLOBAL_ADMIN, email="global@fabrikam.example")
    member = partner_user(partner, Role.INCENTIVES_USER, email="member@fabrikam.example")
    mpn = MpnIdFactory(partner=partner, mpn_id="1234567")
    client = Client()
    client.force_login(admin)
    return {"admin": admin, "member": member, "mpn": mpn, "client": client}


TEAM_STATE = rows(User, Membership, MpnId)
ROLES = [role.value for role in Role]


@PROPERTIES
@given(data=form_data(email=field("new@fabrikam.example", "member@fabrikam.example"), role=field(*ROLES),
                      language=field("en", "fr")))  # fmt: skip
def test_inviting_a_user_never_fails_and_a_refusal_changes_nothing(team, data):
    submitted(team["client"], "post", reverse("team_invite"), data, TEAM_STATE)


@PROPERTIES
@given(value=field(*ROLES), extra=form_data(role=field(*ROLES)))
def test_changing_a_role_never_fails_and_a_refusal_changes_nothing(team, value, extra):
    membership = team["member"].membership
    data = {**extra, f"m{membership.pk}-role": value}
    submitted(team["client"], "post", reverse("team_role", args=[membership.pk]), data, TEAM_STATE)


@PROPERTIES
@given(flags=form_data(osa_sell=field("on"), osu_m365=field("on"), osu_bizapps=field("on")))
def test_setting_programmes_never_fails_and_a_refusal_changes_nothing(team, flags):
    mpn = team["mpn"]
    data = {f"mpn-{mpn.pk}-{name}": value for name, value in flags.items()}
    submitted(team["client"], "post", reverse("mpn_programs", args=[mpn.pk]), data, TEAM_STATE)


@PROPERTIES
@given(data=form_data(language=field("en", "fr"), next=field("/incentives/", "https://evil.example/")))
def test_choosing_a_language_never_fails(team, data):
    response = submitted(team["client"], "post", reverse("set_language"), data, rows(MpnId, Membership))
    if response.status_code == 302:
        assert not response["Location"].startswith("https://evil.example")


@PROPERTIES
@given(data=form_data(email=field("global@fabrikam.example", "nobody@example.com")))
def test_asking_for_a_password_reset_never_fails_and_changes_no_account(team, data):
    submitted(Client(), "post", reverse("password_reset"), data, rows(User, Membership))


# --- The Global admin's API keys and webhooks, and bulk uploads ---------------------------------


@PROPERTIES
@given(data=form_data({"name": "CRM sync", "role": Role.INCENTIVES_USER}, name=field("CRM sync", "x" * 101),
                      role=field(*ROLES)))  # fmt: skip
def test_creating_an_api_key_never_fails_and_a_refusal_changes_nothing(team, data):
    from api.models import ApiKey

    submitted(team["client"], "post", reverse("api_keys:list"), data, rows(ApiKey, User, Membership))


@PROPERTIES
@given(data=st.data())
def test_registering_a_webhook_never_fails_and_a_refusal_changes_nothing(team, data):
    from webhooks.models import WebhookEndpoint
    from webhooks.services import EVENT_TYPES

    events = list(EVENT_TYPES)
    posted = data.draw(
        form_data(
            {"url": "https://93.184.216.34/cpor", "events": events[:2], "description": "CRM"},
            url=field(
                "https://93.184.216.34/cpor", "http://93.184.216.34/", "https://127.0.0.1/", "https://10.0.0.1/x"
            ),
            events=st.lists(field(*events), max_size=3),
            description=field("CRM", "x" * 201),
            is_active=field("on"),
        )
    )
    submitted(team["client"], "post", reverse("webhooks:create"), posted, rows(WebhookEndpoint))


@PROPERTIES
@given(content=st.one_of(st.binary(max_size=600), st.text(max_size=600).map(str.encode)),
       name=st.sampled_from(("claims.csv", "claims.txt", "CLAIMS.CSV")))  # fmt: skip
def test_a_bulk_upload_never_fails_and_a_refusal_keeps_nothing(partner, content, name):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from bulk.models import BulkUpload

    client = Client()
    client.force_login(partner_user(partner, Role.INCENTIVES_ADMIN))
    upload = SimpleUploadedFile(name, content)
    submitted(client, "post", reverse("bulk:list"), {"file": upload}, rows(BulkUpload))
