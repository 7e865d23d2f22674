from django.apps import AppConfig


class MetricsConfig(AppConfig):
    """The delivery figures (DORA's five keys, the cycle-time stages, the process figures), computed in the database
    from what the pipeline, the watches and the rollbacks recorded: one definition for the page, the API, the command
    and the weekly report."""

    name = "delivery.metrics"
    label = "metrics"
    default_auto_field = "django.db.models.BigAutoField"
