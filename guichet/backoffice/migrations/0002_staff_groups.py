from django.contrib.auth.management import create_permissions
from django.db import migrations

from guichet.backoffice.groups import STAFF_GROUPS, staff_groups_sync


def _groups(apps, schema_editor):
    # Permissions are made after all migrations (post_migrate): make those of the areas now.
    # (A migration's app configs have no models module: create_permissions would skip them.)
    for label in sorted({label for areas in STAFF_GROUPS.values() for label in areas}):
        app_config = apps.get_app_config(label)
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    staff_groups_sync(apps=apps)


def _no_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=list(STAFF_GROUPS)).delete()


class Migration(migrations.Migration):

    dependencies = [
        ("backoffice", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("cards", "0002_lifecycle"),
        ("acs", "0001_initial"),
        ("subscribers", "0001_initial"),
        ("merchants", "0002_payment_language"),
    ]

    operations = [migrations.RunPython(_groups, _no_groups)]
