"""The product's URLs plus one that fails, for the 500 page's test."""

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.urls import path

from delivery.urls import handler500
from delivery.urls import urlpatterns as product_urlpatterns


@login_not_required
def boom(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("a bug")


urlpatterns = [path("boom/", boom), *product_urlpatterns]
__all__ = ["handler500", "urlpatterns"]
