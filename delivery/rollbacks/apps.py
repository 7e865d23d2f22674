from django.apps import AppConfig


class RollbacksConfig(AppConfig):
    name = "delivery.rollbacks"
    label = "rollbacks"
    default_auto_field = "django.db.models.BigAutoField"
