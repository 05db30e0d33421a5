"""Chat attachments get a preview, made once on upload, that the chat opens and reports embed
instead of the original; their thumbnail is made from it. Attachments stored before are judged
again by their content, as record attachments were (incidents 0028): a verified bitmap within
the pixel budget gets its preview (and a thumbnail if it had none) and the content type of what
it is; anything else (SVG named board.png, a broken picture, one past the budget) becomes a
plain file, without a thumbnail, never shown as a picture."""

import io

from django.core.files.base import ContentFile
from django.db import migrations, models

import messaging.models

NOT_A_PICTURE = "application/octet-stream"
# The chat's thumbnail box (messaging.services.THUMBNAIL_SIZE when this was written).
THUMBNAIL_SIZE = (320, 320)


def _not_a_picture(attachment) -> None:
    # The old thumbnail's file is left to the pruning of files no row points to.
    if attachment.content_type.startswith("image/"):
        attachment.content_type = NOT_A_PICTURE
    attachment.thumbnail = ""
    attachment.preview = ""
    attachment.save(update_fields=["content_type", "thumbnail", "preview"])


def judge_pictures(apps, schema_editor):
    from PIL import Image

    from config.kit.uploads import PictureTooLarge, picture_of

    MessageAttachment = apps.get_model("messaging", "MessageAttachment")
    judged = MessageAttachment.objects.filter(
        models.Q(content_type__startswith="image/") | ~models.Q(thumbnail="")
    )
    for attachment in judged.iterator():
        storage = attachment.file.storage
        if not attachment.file.name or not storage.exists(attachment.file.name):
            _not_a_picture(attachment)  # nothing to show, and nothing to check
            continue
        with storage.open(attachment.file.name, "rb") as stored:
            try:
                picture = picture_of(stored, attachment.original_name)
            except PictureTooLarge:
                picture = None  # kept, as a file to download; never decoded
        if picture is None:
            _not_a_picture(attachment)
            continue
        attachment.content_type = picture.content_type
        attachment.preview.save(
            f"preview.{picture.preview_suffix}", ContentFile(picture.preview), save=False
        )
        fields = ["content_type", "preview"]
        if not _is_thumbnail(attachment, Image):
            attachment.thumbnail.save(
                "thumb.png", ContentFile(picture.thumbnail(THUMBNAIL_SIZE)), save=False
            )
            fields.append("thumbnail")
        attachment.save(update_fields=fields)


def _is_thumbnail(attachment, Image) -> bool:
    """Whether the stored thumbnail is one: a PNG within the thumbnail box."""
    name = attachment.thumbnail.name
    if not name or not attachment.thumbnail.storage.exists(name):
        return False
    try:
        with attachment.thumbnail.storage.open(name, "rb") as stored:
            content = stored.read(2_000_000)
        with Image.open(io.BytesIO(content), formats=["PNG"]) as image:
            width, height = image.size
    except Exception:
        return False
    return width <= THUMBNAIL_SIZE[0] and height <= THUMBNAIL_SIZE[1]


class Migration(migrations.Migration):
    dependencies = [
        ("messaging", "0002_message_search"),
    ]

    operations = [
        migrations.AddField(
            model_name="messageattachment",
            name="preview",
            field=models.FileField(
                blank=True,
                max_length=255,
                upload_to=messaging.models.chat_preview_path,
                verbose_name="preview",
            ),
        ),
        migrations.RunPython(judge_pictures, migrations.RunPython.noop, elidable=True),
    ]
