"""Proofs of execution on S3 (CPOR_S3_BUCKET): uploaded through the wizard, kept private in
the bucket, and downloaded only through the access-checked view. Against a real
S3-compatible server started here (moto's server mode), not a mock inside this process."""

import http.client
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from claims.tests.factories import PDF_BYTES, directory_world
from claims.tests.test_wizard import create_draft
from cpor import health
from cpor.models import Role
from cpor.tests.factories import PartnerFactory, partner_user

pytestmark = pytest.mark.django_db

BUCKET = "cpor-proofs"
CREDENTIALS = {"access_key": "cpor-test-key", "secret_key": "cpor-test-secret", "region_name": "eu-west-3"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def s3_endpoint():
    """`moto_server` on a free port, for this module; stopped at its end whatever happens."""
    port = free_port()
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "MOTO_ALLOW_NONEXISTENT_REGION": "true"},
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("moto_server did not start") from None
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.kill()
        server.wait(timeout=10)


def s3_client(endpoint):
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=CREDENTIALS["access_key"],
        aws_secret_access_key=CREDENTIALS["secret_key"],
        region_name=CREDENTIALS["region_name"],
    )


def s3_storages(settings, endpoint, bucket=BUCKET):
    """The STORAGES production builds from CPOR_S3_BUCKET, pointed at the test server."""
    return {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": bucket,
                "endpoint_url": endpoint,
                "default_acl": "private",
                "querystring_auth": True,
                "file_overwrite": False,
                **CREDENTIALS,
            },
        },
    }


@pytest.fixture
def bucket(s3_endpoint, settings):
    client = s3_client(s3_endpoint)
    client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": CREDENTIALS["region_name"]})
    settings.STORAGES = s3_storages(settings, s3_endpoint)
    yield client
    for listed in client.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        client.delete_object(Bucket=BUCKET, Key=listed["Key"])
    client.delete_bucket(Bucket=BUCKET)


def test_a_proof_uploaded_in_the_wizard_lands_private_in_the_bucket_and_downloads_through_the_checked_view(
    client, partner, bucket, s3_endpoint
):
    world = directory_world(partner)
    client.force_login(partner_user(partner, Role.INCENTIVES_ADMIN))
    claim = create_draft(client, world)

    response = client.post(
        reverse("claims:draft_proof", args=[claim.pk]), {"files": SimpleUploadedFile("SoW.pdf", PDF_BYTES)}
    )
    assert response.status_code == 302
    proof = claim.proofs.get()

    # In the bucket, under its generated name, with the partner's bytes.
    stored = bucket.get_object(Bucket=BUCKET, Key=proof.file.name)
    assert stored["Body"].read() == PDF_BYTES
    # Private: no grant to everyone or to any signed-in AWS user, and an anonymous GET is refused.
    grants = bucket.get_object_acl(Bucket=BUCKET, Key=proof.file.name)["Grants"]
    assert [grant["Permission"] for grant in grants] == ["FULL_CONTROL"]
    assert all(grant["Grantee"].get("Type") == "CanonicalUser" for grant in grants)
    host, port = s3_endpoint.removeprefix("http://").split(":")
    anonymous = http.client.HTTPConnection(host, int(port), timeout=10)
    anonymous.request("GET", f"/{BUCKET}/{proof.file.name}")
    assert anonymous.getresponse().status == 403

    # Through the view that checks access, as an attachment under the uploaded name.
    download = client.get(reverse("claims:proof_download", args=[proof.pk]))
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == PDF_BYTES
    assert 'filename="SoW.pdf"' in download["Content-Disposition"]

    # Another partner's user gets nothing.
    client.force_login(partner_user(PartnerFactory(), Role.INCENTIVES_ADMIN))
    assert client.get(reverse("claims:proof_download", args=[proof.pk])).status_code == 404


def test_health_answers_503_naming_the_storage_when_the_bucket_is_missing(client, settings, s3_endpoint):
    settings.STORAGES = s3_storages(settings, s3_endpoint, bucket="no-such-bucket")
    health.forget()
    try:
        response = client.get("/health/", HTTP_HOST="10.0.0.7")
    finally:
        health.forget()
    assert response.status_code == 503
    assert response.json() == {"database": "ok", "broker": "ok", "storage": "error"}


def test_health_is_ok_with_the_bucket_and_leaves_nothing_in_it(client, bucket):
    health.forget()
    try:
        assert client.get("/health/", HTTP_HOST="10.0.0.7").status_code == 200
    finally:
        health.forget()
    assert bucket.list_objects_v2(Bucket=BUCKET).get("KeyCount", 0) == 0


def test_setting_cpor_s3_bucket_stores_proofs_privately_in_that_bucket():
    script = (
        "from django.core.files.storage import storages; s = storages['default'];"
        "print(type(s).__name__, s.bucket_name, s.default_acl, s.querystring_auth, s.file_overwrite, s.endpoint_url)"
    )
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "PYTEST_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="cpor.settings.base",
        CPOR_S3_BUCKET="acme-proofs",
        CPOR_S3_ENDPOINT_URL="http://127.0.0.1:9",
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-v", "0", "-c", script],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["S3Storage", "acme-proofs", "private", "True", "False", "http://127.0.0.1:9"]
