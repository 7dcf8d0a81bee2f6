"""Request size limits (cpor.middleware.RequestSizeLimitMiddleware, DATA_UPLOAD_MAX_NUMBER_FILES)."""

import os
import socket
import subprocess
import sys
import time

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from cpor.middleware import RequestSizeLimitMiddleware

pytestmark = pytest.mark.django_db

HUGE = 300 * 1024 * 1024


class UnreadableBody:
    """A request body that fails the test if anything reads it."""

    def read(self, *args, **kwargs):
        raise AssertionError("the body was read")

    readline = read


def post_headers_only(client, url, length, **extra):
    return client.generic(
        "POST",
        url,
        content_type="application/x-www-form-urlencoded",
        **{"CONTENT_LENGTH": str(length), "wsgi.input": UnreadableBody(), **extra},
    )


def test_an_oversized_sign_in_post_is_refused_with_413_before_its_body_is_read(client):
    response = post_headers_only(client, reverse("login"), HUGE)
    assert response.status_code == 413
    assert response["Connection"] == "close"
    assert response.content.decode() == "The request is too large: at most 1.0\xa0MB can be sent here."


def test_the_413_answer_is_in_french_for_a_french_browser(client):
    response = post_headers_only(client, reverse("password_reset"), HUGE, HTTP_ACCEPT_LANGUAGE="fr")
    assert response.status_code == 413
    assert (
        response.content.decode() == "La requête est trop volumineuse : 1,0\xa0Mio au maximum peuvent être envoyés ici."
    )


def test_an_admin_post_has_the_small_limit_too(client):
    response = post_headers_only(client, reverse("admin:login"), settings.REQUEST_MAX_BYTES + 1)
    assert response.status_code == 413


def test_the_proof_upload_urls_accept_twenty_files_of_the_largest_size():
    expected = 20 * settings.POE_MAX_BYTES + 1024 * 1024
    for name in ("claims:draft_proof", "claims:proof_add"):
        assert RequestSizeLimitMiddleware.limit_for(reverse(name, kwargs={"pk": 1})) == expected
    assert RequestSizeLimitMiddleware.limit_for(reverse("claims:comment", kwargs={"pk": 1})) == 1024 * 1024
    assert RequestSizeLimitMiddleware.limit_for("/no/such/page/") == 1024 * 1024


def test_a_large_proof_upload_is_let_through_and_a_larger_one_refused(client):
    url = reverse("claims:draft_proof", kwargs={"pk": 1})
    limit = settings.UPLOAD_REQUEST_MAX_BYTES
    # Anonymous: past the size check, the view sends them to sign in, still without reading.
    allowed = post_headers_only(client, url, limit)
    assert allowed.status_code == 302 and allowed.url.startswith(reverse("login"))
    assert post_headers_only(client, url, limit + 1).status_code == 413


def test_a_chunked_body_without_a_length_is_refused(client):
    response = client.generic(
        "POST",
        reverse("login"),
        **{"CONTENT_LENGTH": "", "HTTP_TRANSFER_ENCODING": "chunked", "wsgi.input": UnreadableBody()},
    )
    assert response.status_code == 411
    assert "Content-Length" in response.content.decode()


def test_a_request_with_more_than_twenty_files_is_refused(client):
    files = {f"file{n}": SimpleUploadedFile(f"f{n}.txt", b"x") for n in range(21)}
    response = client.post(reverse("login"), {"username": "a@example.com", "password": "x", **files})
    assert response.status_code == 400
    twenty = {f"file{n}": SimpleUploadedFile(f"f{n}.txt", b"x") for n in range(20)}
    assert client.post(reverse("login"), {"username": "a@example.com", "password": "x", **twenty}).status_code == 200


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def gunicorn(tmp_path):
    port = free_port()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "cpor.settings.test", "CPOR_VAR_DIR": str(tmp_path)}
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "cpor.wsgi:application", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            assert process.poll() is None, process.stdout.read().decode()
            time.sleep(0.2)
    yield port
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


def test_a_real_server_answers_413_to_the_headers_alone_before_any_body_is_sent(gunicorn):
    """Through gunicorn: only the headers of a 300 MB POST are sent, and the 413 comes back."""
    with socket.create_connection(("127.0.0.1", gunicorn), timeout=20) as connection:
        connection.sendall(
            b"POST /accounts/login/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n" + f"Content-Length: {HUGE}\r\n\r\n".encode()
        )
        answer = b""
        while chunk := connection.recv(4096):  # the server closes the connection after answering
            answer += chunk
        answer = answer.decode("latin-1")
    assert answer.startswith("HTTP/1.1 413"), answer
    assert "The request is too large" in answer
