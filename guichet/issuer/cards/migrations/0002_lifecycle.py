import secrets

from django.db import migrations, models


def _card_references(apps, schema_editor):
    Card = apps.get_model("cards", "Card")
    for card in Card.objects.filter(reference__isnull=True).only("pk"):
        card.reference = f"card_{secrets.token_hex(8)}"
        card.save(update_fields=["reference"])


class Migration(migrations.Migration):

    dependencies = [
        ("cards", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="cardholder",
            name="reference",
            field=models.CharField(blank=True, max_length=64, null=True, unique=True),
        ),
        migrations.AddField(
            model_name="cardholder",
            name="phone_changed_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="cardholder",
            name="sms_hold_until",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="card",
            name="reference",
            field=models.CharField(max_length=64, null=True),
        ),
        migrations.RunPython(_card_references, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="card",
            name="reference",
            field=models.CharField(max_length=64, unique=True),
        ),
        migrations.AddField(
            model_name="card",
            name="block_reason",
            field=models.CharField(
                blank=True,
                choices=[("lost", "Lost"), ("stolen", "Stolen"), ("fraud", "Fraud"), ("other", "Other")],
                max_length=16,
            ),
        ),
        migrations.AddField(
            model_name="card",
            name="blocked_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.CreateModel(
            name="IssuerApiKey",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("prefix", models.CharField(max_length=16, unique=True)),
                ("key_hash", models.CharField(max_length=64, unique=True)),
                ("name", models.CharField(max_length=100)),
                ("created_at", models.DateTimeField()),
                ("revoked_at", models.DateTimeField(blank=True, null=True)),
            ],
            options={"verbose_name": "issuer API key", "ordering": ["id"]},
        ),
        migrations.CreateModel(
            name="IssuerIdempotencyRecord",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("scope", models.CharField(max_length=200)),
                ("key", models.CharField(max_length=255)),
                ("request_hash", models.CharField(max_length=64)),
                ("status_code", models.PositiveSmallIntegerField()),
                ("response", models.JSONField()),
                ("created_at", models.DateTimeField()),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(fields=("scope", "key"), name="issuer_idempotency_unique")
                ],
            },
        ),
    ]
