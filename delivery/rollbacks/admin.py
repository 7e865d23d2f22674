from django.contrib import admin

from delivery.rollbacks.models import Rollback


@admin.register(Rollback)
class RollbackAdmin(admin.ModelAdmin):
    list_display = ["repository", "environment", "target_tag", "state", "requested_by", "requested_at", "finished_at"]
    list_filter = ["state", "repository", "method"]
    raw_id_fields = ["from_release", "target_release", "requested_by", "deployment"]
