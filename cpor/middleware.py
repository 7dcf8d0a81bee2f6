"""Activate the signed-in user's language unless the visitor chose one with the switch.

LocaleMiddleware has already picked a language from the cookie or the browser. The cookie is
an explicit choice and wins; otherwise a signed-in user sees the language saved on their
account (set by the switch, at sign-in, or at invitation), which is also their emails' one.
"""

from django.conf import settings
from django.utils import translation


class UserLanguageMiddleware:
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
