"""Property-based tests of the forms of cpor's pages and of the apps above it (API keys,
webhooks, bulk uploads): whatever a browser posts, the answer is never a server error, and a
refusal changes nothing. They live beside the project, not in cpor, because they use every app.
"""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from cpor.models import Membership, MpnId, Role, User
from cpor.tests.factories import MpnIdFactory, partner_user
from cpor.tests.properties import PROPERTIES, field, form_data, rows, submitted

pytestmark = pytest.mark.django_db


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
