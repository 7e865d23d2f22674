from django.contrib import admin

from delivery.monitoring.models import (
    Alert,
    AlertDelivery,
    ChecklistItem,
    Incident,
    MonitoringSession,
    SignalReading,
    WatchVerdict,
)


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


@admin.register(WatchVerdict)
class WatchVerdictAdmin(admin.ModelAdmin):
    list_display = ["session", "verdict", "degraded_since", "read_at", "owner_told_at", "on_call_told_at"]
    list_filter = ["verdict"]
    raw_id_fields = ["session"]


@admin.register(SignalReading)
class SignalReadingAdmin(admin.ModelAdmin):
    list_display = ["session", "signal", "source", "judgement", "errors", "read_at"]
    list_filter = ["source", "judgement"]
    raw_id_fields = ["session"]
