from django.db import models


class CodeField(models.CharField):
    """A key typed or scanned by people: stray spaces around it never make a second record."""

    def to_python(self, value):
        value = super().to_python(value)
        return value.strip() if isinstance(value, str) else value

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        return value.strip() if isinstance(value, str) else value


def code_key(value: str | None) -> str:
    """A code as codes are compared: without surrounding space, in capitals (Python's own case
    rules, for every alphabet: neither SQLite's UPPER, which knows ASCII only, nor the
    database's locale decides)."""
    return (value or "").strip().upper()


class CodeKeyField(models.CharField):
    """The key of another field of the same row (`code_key(source)`), stored beside it so the
    database compares keys, never spellings: written on every save and bulk insert, never
    typed."""

    def __init__(self, *args, source: str, **kwargs):
        self.source = source
        kwargs.setdefault("editable", False)
        kwargs.setdefault("default", "")
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs["source"] = self.source
        kwargs.pop("editable", None)
        if kwargs.get("default") == "":
            kwargs.pop("default")
        return name, path, args, kwargs

    def pre_save(self, model_instance, add):
        value = code_key(getattr(model_instance, self.source))
        setattr(model_instance, self.attname, value)
        return value
