from django.apps import AppConfig


class CoreConfig(AppConfig):
    """Project-wide commands: the embedded demo and the benchmarks."""

    name = "delivery.core"
    label = "core"
