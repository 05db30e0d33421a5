"""The device list sorted by hardware version either way: a handful of versions, each shared by
thousands of devices, so the key the admin adds to the order ("-id") is in the index too."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("locations", "0012_search_characters")]

    operations = [
        migrations.AddIndex(
            model_name="device",
            index=models.Index(fields=["hardware_version", "-id"], name="device_hardware_order"),
        ),
        migrations.AddIndex(
            model_name="device",
            index=models.Index(
                fields=["-hardware_version", "-id"], name="device_hardware_order_desc"
            ),
        ),
    ]
