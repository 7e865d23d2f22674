from django.conf import settings
from django.contrib import admin
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path
from django.views.generic import RedirectView

from delivery.clickup import views as clickup_views
from delivery.core import views as core_views
from delivery.github import views as github_views
from delivery.metrics import api as metrics_api
from delivery.metrics import views as metrics_views
from delivery.monitoring import views as monitoring_views
from delivery.pipeline import views as pipeline_views
from delivery.reports import views as report_views
from delivery.web import people as people_views
from delivery.web import rollbacks as rollback_views
from delivery.web import tokens as token_views
from delivery.web import watches as watch_views

# The product's own error pages (templates/403.html, 404.html and 405.html through the middleware): 500 is
# rendered without the request's context, so it shows even when the database is what failed.
handler500 = "delivery.core.views.server_error"

urlpatterns = [
    path("", people_views.home, name="home"),
    path("board/", pipeline_views.board, name="board"),
    path("me/", people_views.my_queue, name="my-queue"),
    path("team/", people_views.team_page, name="team"),
    path("people/<str:login>/", people_views.person_queue, name="person"),
    path("people/<str:login>/clickup/", people_views.person_clickup, name="person-clickup"),
    path("on-call/", rollback_views.on_call_page, name="on-call"),
    path("releases/<int:pk>/rollback/", rollback_views.rollback_new, name="rollback-new"),
    path("rollbacks/<int:pk>/", rollback_views.rollback_page, name="rollback"),
    path("rollbacks/<int:pk>/retry/", rollback_views.rollback_retry_view, name="rollback-retry"),
    path("monitoring/<int:pk>/", watch_views.watch_page, name="watch"),
    path("monitoring/<int:pk>/sign-off/", watch_views.watch_sign_off_page, name="watch-sign-off"),
    path("monitoring/items/<int:pk>/", watch_views.watch_item_page, name="watch-item"),
    path("settings/team/", people_views.team_settings, name="team-settings"),
    path("settings/team/role/", people_views.role_change, name="role-change"),
    path("settings/team/rotation/", people_views.rotation_change, name="rotation-change"),
    path("settings/team/overrides/", people_views.override_add, name="override-add"),
    path("settings/team/overrides/<int:pk>/remove/", people_views.override_remove, name="override-remove"),
    path("changes/<int:pk>/", pipeline_views.change_page, name="change"),
    path("releases/<int:pk>/", pipeline_views.release_page, name="release"),
    path("releases/<int:pk>/fix/", pipeline_views.release_fix, name="release-fix"),
    path("releases/<int:pk>/dismiss-failure/", pipeline_views.release_dismiss, name="release-dismiss"),
    path("repositories/", github_views.repository_list, name="repositories"),
    path("repositories/<int:pk>/", pipeline_views.repository_page, name="repository"),
    path("repositories/<int:pk>/sync/", github_views.repository_sync, name="repository-sync"),
    path("repositories/<int:pk>/settings/", github_views.repository_settings, name="repository-settings"),
    path("metrics/", metrics_views.metrics_page, name="metrics"),
    path("metrics/evidence/", metrics_views.evidence_page, name="metrics-evidence"),
    path("reports/", report_views.report_list, name="reports"),
    path("reports/<str:week>/", report_views.report_page, name="report"),
    path("reports/<str:week>/report.md", report_views.report_markdown, name="report-markdown"),
    path("reports/<str:week>/<slug:section>.csv", report_views.report_csv, name="report-csv"),
    path("reports/<str:week>/teams/<slug:slug>/", report_views.report_page, name="team-report"),
    path("reports/<str:week>/teams/<slug:slug>/report.md", report_views.report_markdown, name="team-report-markdown"),
    path("reports/<str:week>/teams/<slug:slug>/<slug:section>.csv", report_views.report_csv, name="team-report-csv"),
    path("agreements/", report_views.agreement_list, name="agreements"),
    path("settings/agreements/", report_views.agreement_settings, name="agreement-settings"),
    path("settings/agreements/<int:pk>/remove/", report_views.agreement_remove_view, name="agreement-remove"),
    path("settings/tokens/", token_views.token_list, name="tokens"),
    path("settings/tokens/<int:pk>/revoke/", token_views.token_revoke_view, name="token-revoke"),
    path("api/v1/metrics/", metrics_api.metrics_api, name="api-metrics"),
    path("api/v1/metrics/evidence/", metrics_api.evidence_api, name="api-metrics-evidence"),
    path("api/v1/openapi.json", metrics_api.openapi_document, name="api-openapi"),
    path("healthz", core_views.healthz, name="healthz"),
    path(
        "favicon.ico",
        login_not_required(RedirectView.as_view(url=f"{settings.STATIC_URL}img/trunkline.svg", permanent=True)),
    ),
    path("webhooks/github/", github_views.github_webhook, name="github-webhook"),
    path("webhooks/alertmanager/", monitoring_views.alertmanager_webhook, name="alertmanager-webhook"),
    path("operations/alerts/", monitoring_views.alert_list_page, name="alerts"),
    path("incidents/<int:pk>/dismiss/", monitoring_views.incident_dismiss_view, name="incident-dismiss"),
    path("webhooks/clickup/", clickup_views.clickup_webhook, name="clickup-webhook"),
    path("operations/webhooks/", github_views.webhook_delivery_list_page, name="webhook-deliveries"),
    path("operations/webhooks/<int:pk>/", github_views.webhook_delivery_detail, name="webhook-delivery"),
    path("operations/webhooks/<int:pk>/replay/", github_views.webhook_delivery_replay, name="webhook-delivery-replay"),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
]
