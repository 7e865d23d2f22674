from django.contrib import admin

from delivery.monitoring.models import Alert, AlertDelivery, ChecklistItem, Incident, MonitoringSession


class ChecklistItemInline(admin.TabularInline):
    model = ChecklistItem
    extra = 0
    raw_id_fields = ["checked_by"]


@admin.register(MonitoringSession)
class MonitoringSessionAdmin(admin.ModelAdmin):
    list_display = ["release", "owner", "window_starts_at", "window_ends_at", "signed_off_at", "decision"]
    list_filter = ["decision"]
    raw_id_fields = ["release", "owner", "signed_off_by"]
    inlines = [ChecklistItemInline]


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = ["name", "status", "starts_at", "ends_at", "repository", "production", "incident"]
    list_filter = ["status", "production"]
    search_fields = ["name", "fingerprint"]
    raw_id_fields = ["repository", "incident", "last_delivery"]


@admin.register(Incident)
class IncidentAdmin(admin.ModelAdmin):
    list_display = ["title", "release", "started_at", "resolved_at", "dismissed_at"]
    raw_id_fields = ["release", "dismissed_by"]


@admin.register(AlertDelivery)
class AlertDeliveryAdmin(admin.ModelAdmin):
    list_display = ["received_at", "receiver", "status", "alert_count", "outcome", "attempts"]
    list_filter = ["outcome"]
    exclude = ["body"]
