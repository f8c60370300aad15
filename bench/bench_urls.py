"""Scarlog's URLs plus /bench/hello: a view that does nothing, through the same middleware
(the framework floor every page is measured against)."""
from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponse
from django.urls import path

from config.urls import handler500  # noqa: F401
from config.urls import urlpatterns as scarlog_urlpatterns


@login_not_required
def hello(request):
    return HttpResponse("hello", content_type="text/plain")


urlpatterns = [path("bench/hello", hello), *scarlog_urlpatterns]
