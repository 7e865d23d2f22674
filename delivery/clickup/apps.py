from django.apps import AppConfig


class ClickUpConfig(AppConfig):
    name = "delivery.clickup"
    label = "clickup"
    default_auto_field = "django.db.models.BigAutoField"
