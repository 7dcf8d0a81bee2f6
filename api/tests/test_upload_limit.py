"""The request size limit lets the API's proof uploads through as it does the site's."""

from django.conf import settings
from django.urls import reverse

from cpor.middleware import RequestSizeLimitMiddleware


def test_the_api_proof_upload_takes_twenty_files_of_the_largest_size_like_the_site():
    site = RequestSizeLimitMiddleware.limit_for(reverse("claims:proof_add", kwargs={"pk": 1}))
    api = RequestSizeLimitMiddleware.limit_for(reverse("api:claim_proofs", kwargs={"pk": 1}))
    assert api == site == 20 * settings.POE_MAX_BYTES + 1024 * 1024


def test_the_api_other_calls_keep_the_small_limit():
    assert RequestSizeLimitMiddleware.limit_for(reverse("api:claim_comments", kwargs={"pk": 1})) == 1024 * 1024
