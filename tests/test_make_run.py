"""`make run`, the README's first command, as a newcomer types it: no DATABASE_URL and no
REDIS_URL, so the embedded defaults (a SQLite file and kombu's filesystem broker) under a
var/ folder nobody has used. It must migrate from nothing, seed the demo, and serve web, worker
and beat together; Ctrl-C stops all three.

The rest of the suite runs on PostgreSQL, so without this test a migration SQLite cannot apply
(an index with NULLS LAST, a GIN index rebuilt with its table) would pass CI and break the first
thing a new user does.
"""

import http.client
import os
import re
import signal
import socket
import subprocess
import time
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

import pytest
from django.conf import settings

pytestmark = pytest.mark.worker

DEMO_LOGIN = "incentives@fabrikam.example"
DEMO_PASSWORD = "cpor-demo"
REVIEWER = "reviewer@cpor.example"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Browser:
    """Just enough of one: a cookie jar and CSRF, over plain HTTP to the development server."""

    def __init__(self, port: int):
        self.port = port
        self.cookies = SimpleCookie()

    def request(self, method, path, form=None):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers = {"Cookie": "; ".join(f"{name}={morsel.value}" for name, morsel in self.cookies.items())}
        body = None
        if form is not None:
            form = {"csrfmiddlewaretoken": self.cookies["csrftoken"].value, **form}
            headers.update({"Content-Type": "application/x-www-form-urlencoded", "Origin": self.origin})
            body = urlencode(form)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            for header in response.headers.get_all("Set-Cookie") or ():
                self.cookies.load(header)
            return response.status, response.headers, response.read().decode("utf-8", "replace")
        finally:
            connection.close()

    @property
    def origin(self):
        return f"http://127.0.0.1:{self.port}"


def wait_for(condition, *, seconds, what, process, log):
    deadline = time.monotonic() + seconds
    while not condition():
        if process.poll() is not None:
            pytest.fail(f"make run exited with {process.returncode} before {what}:\n{log.read_text()}")
        if time.monotonic() > deadline:
            pytest.fail(f"no {what} within {seconds} s:\n{log.read_text()}")
        time.sleep(0.5)


@pytest.fixture
def make_run(tmp_path):
    """`make run` on a free port, its var/ in a temporary folder, stopped by Ctrl-C (SIGINT)."""
    var = tmp_path / "var"
    log = tmp_path / "make-run.log"
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "DATABASE_", "REDIS_", "CPOR_", "PYTEST_", "SITE_URL"))
    }
    port = free_port()
    env.update(CPOR_VAR_DIR=str(var), PYTHONUNBUFFERED="1")
    with log.open("w") as output:
        process = subprocess.Popen(
            ["make", "run", f"PORT={port}"],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, as a terminal's Ctrl-C reaches it
        )
    try:
        yield process, port, var, log
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def crawl(browser: Browser, start: str, most: int = 80, skip=r"logout|/static/|export|download|/opt-out/|/admin/"):
    """Each same-site page linked from `start`, and from those, once: their status codes."""
    answers: dict[str, int] = {}
    queue = [start]
    while queue and len(answers) < most:
        url = queue.pop(0)
        if url in answers:
            continue
        status, headers, page = browser.request("GET", url)
        answers[url] = status
        if status == 200 and headers.get("Content-Type", "").startswith("text/html"):
            for link in re.findall(r'href="(/[^"#]*)"', page):
                link = link.replace("&amp;", "&")
                if not re.search(skip, link):
                    queue.append(link)
    return answers


def signed_in_page_answers(browser: Browser) -> bool:
    try:
        status, _headers, _page = browser.request("GET", "/accounts/login/")
    except OSError:
        return False
    return status == 200


def test_make_run_serves_the_demo_with_a_worker_and_beat_on_the_embedded_defaults(make_run):
    process, port, var, log = make_run
    browser = Browser(port)

    wait_for(lambda: signed_in_page_answers(browser), seconds=240, what="sign-in page", process=process, log=log)
    wait_for(
        lambda: re.search(r"celery@\S+ ready", log.read_text()), seconds=60, what="worker", process=process, log=log
    )
    wait_for(lambda: "beat: Starting" in log.read_text(), seconds=60, what="beat", process=process, log=log)
    assert (var / "cpor.sqlite3").is_file()

    # A demo login signs in and sees its partner's claims.
    status, headers, page = browser.request(
        "POST", "/accounts/login/", {"username": DEMO_LOGIN, "password": DEMO_PASSWORD}
    )
    assert status == 302, page
    status, _headers, page = browser.request("GET", "/incentives/")
    assert status == 200
    assert "Fabrikam Consulting" in page
    status, _headers, page = browser.request("GET", "/incentives/customer-associations/")
    assert status == 200
    assert "Customer associations" in page
    # Every page the demo user can reach works on SQLite too (the suite's own runs are on
    # PostgreSQL, where a query only PostgreSQL understands would pass).
    answers = crawl(browser, "/incentives/")
    assert len(answers) > 15
    assert [url for url, status in answers.items() if status >= 500] == []

    # And every page of the reviewers' back office that the demo reviewer reaches.
    browser.request("POST", "/accounts/logout/", {})
    browser.request("GET", "/accounts/login/")
    status, _headers, page = browser.request(
        "POST", "/accounts/login/", {"username": REVIEWER, "password": DEMO_PASSWORD}
    )
    assert status == 302, page
    answers = crawl(browser, "/admin/", skip=r"logout|/static/|export|download|/opt-out/|/delete/|/history/")
    assert len(answers) > 30
    assert [url for url, status in answers.items() if status >= 500] == []

    # The worker does the web's background work: a password reset email is sent by a task.
    browser.request("POST", "/accounts/logout/", {})
    browser.request("GET", "/accounts/password-reset/")
    status, _headers, _page = browser.request("POST", "/accounts/password-reset/", {"email": DEMO_LOGIN})
    assert status == 302
    mail = Path(var / "mail")

    def reset_email_written():
        return any(DEMO_LOGIN in path.read_text(errors="replace") for path in mail.glob("*.log"))

    wait_for(reset_email_written, seconds=60, what="password reset email from the worker", process=process, log=log)

    # Ctrl-C stops web, worker and beat.
    os.killpg(process.pid, signal.SIGINT)
    assert process.wait(timeout=30) is not None
    with pytest.raises(OSError):
        browser.request("GET", "/accounts/login/")
