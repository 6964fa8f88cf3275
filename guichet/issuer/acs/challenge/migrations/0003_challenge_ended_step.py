"""Challenge.ended_step: the step the outcome was decided at, for the final page's heading."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("acs_challenge", "0002_challenge_served_at"),
    ]

    operations = [
        migrations.AddField(
            model_name="challenge",
            name="ended_step",
            field=models.CharField(
                blank=True,
                choices=[("epin", "Epin"), ("sms", "Sms"), ("done", "Done")],
                default="",
                max_length=8,
            ),
        ),
    ]
