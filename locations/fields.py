from django.db import models


class CodeField(models.CharField):
    """A key typed or scanned by people: stray spaces around it never make a second record."""

    def to_python(self, value):
        value = super().to_python(value)
        return value.strip() if isinstance(value, str) else value

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        return value.strip() if isinstance(value, str) else value
