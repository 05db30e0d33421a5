"""A search vector column on PostgreSQL; plain text elsewhere (SQLite searches through FTS5)."""

from django.db import models


class SearchVectorField(models.Field):
    """`tsvector` on PostgreSQL, filled from a message's search tokens when it is saved."""

    description = "search vector"

    def db_type(self, connection):
        return "tsvector" if connection.vendor == "postgresql" else "text"
