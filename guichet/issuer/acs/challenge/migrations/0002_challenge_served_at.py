"""Challenge.served_at: when the current page was served, for the inactivity limit.

Challenges under way when this runs take their last change (`updated_at`) as that time.
"""

from typing import Any

from django.db import migrations, models
from django.db.models import F


def from_updated_at(apps: Any, schema_editor: Any) -> None:
    Challenge = apps.get_model("acs_challenge", "Challenge")
    Challenge.objects.update(served_at=F("updated_at"))


class Migration(migrations.Migration):
    dependencies = [
        ("acs_challenge", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="challenge",
            name="served_at",
            field=models.DateTimeField(null=True),
        ),
        migrations.RunPython(from_updated_at, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="challenge",
            name="served_at",
            field=models.DateTimeField(),
        ),
        migrations.AddIndex(
            model_name="challenge",
            index=models.Index(fields=["step", "served_at"], name="acs_challenge_step_served"),
        ),
    ]
