"""The application's URLs plus /bench/bare/: a view that does nothing, behind the same
middleware and session as every page, so a page's share of it is what the page itself costs."""

from django.http import HttpResponse
from django.urls import path

from cpor.urls import urlpatterns as application_urlpatterns


def bare(request):
    return HttpResponse(b"ok", content_type="text/plain")


urlpatterns = [path("bench/bare/", bare, name="bench_bare"), *application_urlpatterns]
