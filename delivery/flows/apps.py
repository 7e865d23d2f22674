from django.apps import AppConfig


class FlowsConfig(AppConfig):
    name = "delivery.flows"
    label = "flows"
    verbose_name = "Flows"
