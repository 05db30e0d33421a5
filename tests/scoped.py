"""Data made once for a whole class or module of tests, inside a transaction rolled back when
the block ends (what Django's TestCase.setUpTestData does for a class): each test's own
transaction nests in it, so every test sees the same data and leaves nothing behind."""

import tempfile
from contextlib import contextmanager
from unittest import mock

from django.test import TestCase, override_settings
from django.utils import translation


@contextmanager
def rolled_back_after(django_db_blocker, tmp_path_factory):
    """Yield the uploads folder of the data made inside the block; everything written to the
    database inside it is rolled back when it ends. For a class- or module-scoped fixture:
    everything asked of the data is asked inside the block."""
    media = tmp_path_factory.mktemp("media")
    with (
        # Imports keep the uploaded file in the temporary folder between their two steps.
        mock.patch.object(tempfile, "tempdir", str(tmp_path_factory.mktemp("imports"))),
        django_db_blocker.unblock(),
        override_settings(
            MEDIA_ROOT=media,
            PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
        ),
        translation.override("en"),
    ):
        atomics = TestCase._enter_atomics()
        try:
            yield media
        finally:
            TestCase._rollback_atomics(atomics)
