from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("locations", "0002_serial_number_unique_ignoring_case")]

    operations = [
        migrations.AlterModelOptions(
            name="device",
            options={
                "ordering": ["serial_number"],
                "permissions": [("move_device", "Can move devices and hand them over")],
                "verbose_name": "device",
                "verbose_name_plural": "devices",
            },
        ),
    ]
