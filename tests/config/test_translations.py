"""Chinese is complete: every string of the project and of Unfold (which ships no Chinese) has a
translation, and the compiled catalogue matches its source."""

import gettext
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import unfold

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = ROOT / "locale" / "zh_Hans" / "LC_MESSAGES"
SOURCES = ["config", "incidents", "locations", "messaging", "fixtures", "templates"]

pytestmark = pytest.mark.skipif(shutil.which("msgcmp") is None, reason="gettext is not installed")


def test_catalogue_has_no_untranslated_or_fuzzy_entries():
    result = subprocess.run(
        ["msgfmt", "--check", "--statistics", "-o", os.devnull, CATALOGUE / "django.po"],
        capture_output=True,
        text=True,
    )

    assert result.returncode == 0, result.stderr
    assert "untranslated" not in result.stderr
    assert "fuzzy" not in result.stderr


def test_every_string_of_the_project_and_of_unfold_is_translated(tmp_path):
    """Extract the strings afresh and check each one is in the catalogue."""
    (tmp_path / "locale").mkdir()
    (tmp_path / "_unfold").symlink_to(Path(unfold.__file__).parent)
    for name in SOURCES:
        (tmp_path / name).symlink_to(ROOT / name)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DATA_DIR": str(tmp_path)}
    subprocess.run(
        [sys.executable, "-m", "django", "makemessages", "-l", "zh_Hans", "--symlinks"],
        cwd=tmp_path,
        env=env,
        check=True,
        capture_output=True,
    )

    result = subprocess.run(
        ["msgcmp", CATALOGUE / "django.po", tmp_path / "locale/zh_Hans/LC_MESSAGES/django.po"],
        capture_output=True,
        text=True,
    )

    assert result.returncode == 0, f"run `make messages` and translate:\n{result.stderr}"


def test_compiled_catalogue_matches_its_source(tmp_path):
    compiled = tmp_path / "django.mo"
    subprocess.run(["msgfmt", "-o", compiled, CATALOGUE / "django.po"], check=True)

    with compiled.open("rb") as fresh, (CATALOGUE / "django.mo").open("rb") as committed:
        assert gettext.GNUTranslations(fresh)._catalog == (
            gettext.GNUTranslations(committed)._catalog
        ), "run `make messages` to recompile"
