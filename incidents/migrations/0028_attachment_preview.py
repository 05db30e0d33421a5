"""Record attachments get a preview, made once on upload, that reports embed instead of the
original. Attachments stored as pictures before are judged again by their content: a verified
bitmap within the pixel budget gets its preview and the content type of what it is; anything
else (SVG named board.png, a broken picture, one past the budget) becomes a plain file."""

from django.core.files.base import ContentFile
from django.db import migrations, models

import incidents.models.records

NOT_A_PICTURE = "application/octet-stream"


def judge_pictures(apps, schema_editor):
    from config.kit.uploads import PictureTooLarge, picture_of

    Attachment = apps.get_model("incidents", "Attachment")
    for attachment in Attachment.objects.filter(content_type__startswith="image/").iterator():
        storage = attachment.file.storage
        if not attachment.file.name or not storage.exists(attachment.file.name):
            attachment.content_type = NOT_A_PICTURE  # nothing to show, and nothing to check
            attachment.save(update_fields=["content_type"])
            continue
        with storage.open(attachment.file.name, "rb") as stored:
            try:
                picture = picture_of(stored, attachment.original_name)
            except PictureTooLarge:
                picture = None  # kept, as a file to download; never decoded
        if picture is None:
            attachment.content_type = NOT_A_PICTURE
            attachment.save(update_fields=["content_type"])
            continue
        attachment.content_type = picture.content_type
        attachment.preview.save(
            f"preview.{picture.preview_suffix}", ContentFile(picture.preview), save=False
        )
        attachment.save(update_fields=["content_type", "preview"])


class Migration(migrations.Migration):
    dependencies = [
        ("incidents", "0027_incident_failure"),
    ]

    operations = [
        migrations.AddField(
            model_name="attachment",
            name="preview",
            field=models.FileField(
                blank=True,
                max_length=255,
                upload_to=incidents.models.records.attachment_preview_path,
                verbose_name="preview",
            ),
        ),
        migrations.RunPython(judge_pictures, migrations.RunPython.noop, elidable=True),
    ]
