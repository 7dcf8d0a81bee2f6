"""The customer's opt-out: the service takes the link's token and checks it against the
claim as locked, so that a page read earlier can never stand in for the link."""

import pytest
import time_machine
from django.core import signing
from django.utils import translation

from claims import notices, pipeline
from claims.models import ClaimStatus, ItemOutcome
from claims.tests.test_pipeline import MONDAY_MORNING, validated_claim

pytestmark = pytest.mark.django_db


def path_of(claim):
    return notices.opt_out_url(claim).split("8000", 1)[-1]


def assert_unchanged(claim):
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.UNDER_REVIEW
    assert claim.items.get().outcome == ItemOutcome.PENDING
    assert not claim.events.filter(action="opted_out").exists()


def test_the_opt_out_checks_the_token_under_the_lock_not_the_page_it_came_from(client):
    claim = validated_claim()
    path = path_of(claim)
    with time_machine.travel(MONDAY_MORNING, tick=False):
        assert client.get(path).status_code == 200
        # The link is revoked between the page and the confirm button.
        type(claim).objects.filter(pk=claim.pk).update(opt_out_nonce="00000000-0000-0000-0000-000000000000")
        with pytest.raises(pipeline.OptOutNotApplicable, match="This link is not valid"):
            pipeline.claim_opt_out(token=path.strip("/").split("/")[-1])
    assert_unchanged(claim)


def test_a_forged_token_opts_out_nothing():
    claim = validated_claim()
    forged = signing.dumps({"claim": claim.pk, "nonce": claim.opt_out_nonce.hex}, salt="another-salt")
    with time_machine.travel(MONDAY_MORNING, tick=False):
        with pytest.raises(pipeline.OptOutNotApplicable, match="This link is not valid"):
            pipeline.claim_opt_out(token=forged)
        with pytest.raises(pipeline.OptOutNotApplicable):
            pipeline.claim_opt_out(token="not-a-token")
    assert_unchanged(claim)


def test_a_token_naming_a_deleted_claim_is_not_valid():
    claim = validated_claim()
    token = notices.opt_out_token(claim)
    claim.delete()
    with pytest.raises(pipeline.OptOutNotApplicable, match="This link is not valid"):
        pipeline.claim_opt_out(token=token)
    assert notices.claim_for_opt_out_token(token) is None


def test_the_refusal_reads_in_french():
    claim = validated_claim()
    with translation.override("fr"), pytest.raises(pipeline.OptOutNotApplicable) as refusal:
        pipeline.claim_opt_out(token="forged")
    assert refusal.value.message == "Ce lien n’est pas valide."
    assert_unchanged(claim)


def test_the_link_itself_opts_out_once():
    claim = validated_claim()
    token = notices.opt_out_token(claim)
    with time_machine.travel(MONDAY_MORNING, tick=False):
        pipeline.claim_opt_out(token=token)
        with pytest.raises(pipeline.OptOutNotApplicable, match="already opted out"):
            pipeline.claim_opt_out(token=token)
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.OPTED_OUT
    assert claim.events.filter(action="opted_out").count() == 1
