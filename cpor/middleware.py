"""Middleware of the whole site: the request size limit, and the signed-in user's language."""

from django.conf import settings
from django.http import HttpResponse
from django.template.defaultfilters import filesizeformat
from django.urls import Resolver404, resolve
from django.utils import translation
from django.utils.translation import gettext as _


class RequestSizeLimitMiddleware:
    """Refuse a request body larger than the largest legitimate one, before anything reads it.

    Placed first: Django would otherwise spool a large upload to disk while parsing the form,
    before any view could say no. The answer is decided from the Content-Length header alone;
    the body is never touched, and the connection is closed so that the server does not read
    it either. The limit is UPLOAD_REQUEST_MAX_BYTES on the proof-of-execution upload URLs and
    REQUEST_MAX_BYTES everywhere else. A body sent without a length (chunked) is refused too:
    its size cannot be known without reading it.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        refusal = self.refusal(request)
        if refusal is not None:
            status, message = refusal
            response = HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")
            response["Connection"] = "close"
            return response
        return self.get_response(request)

    def refusal(self, request) -> tuple[int, str] | None:
        length = request.META.get("CONTENT_LENGTH") or ""
        chunked = "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower()
        # The message in the visitor's language: this runs before LocaleMiddleware.
        with translation.override(translation.get_language_from_request(request)):
            if chunked and not length:
                return 411, _("Send the request with its length (Content-Length), not in chunks.")
            try:
                size = int(length) if length else 0
            except ValueError:
                return 400, _("The request's Content-Length is not a number.")
            limit = self.limit_for(request.path_info)
            if size > limit:
                return 413, _("The request is too large: at most %(limit)s can be sent here.") % {
                    "limit": filesizeformat(limit)
                }
        return None

    @staticmethod
    def limit_for(path: str) -> int:
        try:
            match = resolve(path)
        except Resolver404:
            return settings.REQUEST_MAX_BYTES
        if match.view_name in settings.UPLOAD_URL_NAMES:
            return settings.UPLOAD_REQUEST_MAX_BYTES
        return settings.REQUEST_MAX_BYTES


class UserLanguageMiddleware:
    """Activate the signed-in user's language unless the visitor chose one with the switch.

    LocaleMiddleware has already picked a language from the cookie or the browser. The cookie is
    an explicit choice and wins; otherwise a signed-in user sees the language saved on their
    account (set by the switch, at sign-in, or at invitation), which is also their emails' one.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self.languages = dict(settings.LANGUAGES)

    def __call__(self, request):
        user = getattr(request, "user", None)
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        if (
            chosen not in self.languages
            and user is not None
            and user.is_authenticated
            and user.language in self.languages
        ):
            translation.activate(user.language)
            request.LANGUAGE_CODE = user.language
        return self.get_response(request)
