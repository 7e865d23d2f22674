from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from delivery.github import views as github_views
from delivery.pipeline import views as pipeline_views

urlpatterns = [
    path("", pipeline_views.board, name="home"),
    path("changes/<int:pk>/", pipeline_views.change_page, name="change"),
    path("releases/<int:pk>/", pipeline_views.release_page, name="release"),
    path("repositories/", github_views.repository_list, name="repositories"),
    path("repositories/<int:pk>/", pipeline_views.repository_page, name="repository"),
    path("repositories/<int:pk>/sync/", github_views.repository_sync, name="repository-sync"),
    path("healthz", github_views.healthz, name="healthz"),
    path("favicon.ico", RedirectView.as_view(url=f"{settings.STATIC_URL}img/trunkline.svg", permanent=True)),
    path("webhooks/github/", github_views.github_webhook, name="github-webhook"),
    path("operations/webhooks/", github_views.webhook_delivery_list_page, name="webhook-deliveries"),
    path("operations/webhooks/<int:pk>/", github_views.webhook_delivery_detail, name="webhook-delivery"),
    path("operations/webhooks/<int:pk>/replay/", github_views.webhook_delivery_replay, name="webhook-delivery-replay"),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
]
