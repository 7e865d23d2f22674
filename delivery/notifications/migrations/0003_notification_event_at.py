import django.utils.timezone
from django.db import migrations, models
from django.db.models import F


def from_created_at(apps, schema_editor):
    apps.get_model("notifications", "Notification").objects.update(event_at=F("created_at"))


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0002_notification_delivery_bookkeeping"),
    ]

    operations = [
        migrations.AddField(
            model_name="notification",
            name="event_at",
            field=models.DateTimeField(null=True),
        ),
        migrations.RunPython(from_created_at, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="notification",
            name="event_at",
            field=models.DateTimeField(
                default=django.utils.timezone.now,
                help_text="When what it tells of happened (a deploy's success, a failure)."
            ),
        ),
        migrations.AlterField(
            model_name="notification",
            name="outcome",
            field=models.CharField(
                choices=[
                    ("pending", "Pending"),
                    ("sending", "Sending"),
                    ("sent", "Sent"),
                    ("logged", "Logged only (no transport configured)"),
                    ("failed", "Failed (will retry)"),
                    ("permanent_failure", "Failed permanently"),
                    ("history", "Not sent: history (learned of too late to be news)"),
                ],
                default="pending",
                max_length=20,
            ),
        ),
    ]
