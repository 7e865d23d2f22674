from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    name = "delivery.accounts"
    label = "accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from delivery.accounts import signin  # noqa: F401 - connects the sign-in / sign-out receivers
        from delivery.accounts.roles import role_groups_ensure

        post_migrate.connect(role_groups_ensure, dispatch_uid="trunkline-role-groups")
