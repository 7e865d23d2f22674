from django.contrib import admin

from delivery.reports.models import WeeklyReport


@admin.register(WeeklyReport)
class WeeklyReportAdmin(admin.ModelAdmin):
    list_display = ["__str__", "period_start", "period_end", "generated_at", "posted_to_slack_at"]

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # a report never changes after it was generated
