from django.contrib import admin

from delivery.notifications.models import Notification


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["created_at", "kind", "transport", "target", "outcome", "attempts", "sent_at"]
    list_filter = ["kind", "outcome", "transport"]
    search_fields = ["dedupe_key", "text"]
