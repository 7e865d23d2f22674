from django.contrib import admin

from delivery.monitoring.models import ChecklistItem, MonitoringSession


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
