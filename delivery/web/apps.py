from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "delivery.web"
    label = "web"
    verbose_name = "Pages"
