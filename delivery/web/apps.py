from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "delivery.web"
    label = "web"
    verbose_name = "Pages"

    def ready(self) -> None:
        from delivery.web import signin  # noqa: F401 - connects the receiver that matches ClickUp accounts
