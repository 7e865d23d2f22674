from django.contrib import admin
from django.urls import include, path

from delivery.github import views as github_views

urlpatterns = [
    path("", github_views.repository_list, name="home"),
    path("repositories/<int:pk>/sync/", github_views.repository_sync, name="repository-sync"),
    path("healthz", github_views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
]
