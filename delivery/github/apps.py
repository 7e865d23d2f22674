from django.apps import AppConfig


class GithubConfig(AppConfig):
    name = "delivery.github"
    label = "gh"
    default_auto_field = "django.db.models.BigAutoField"
