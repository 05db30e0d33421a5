"""`make bench`: every section in turn (`BENCH_ONLY=chat,search` for some), on a test database
made for the run and dropped after it, then the figures as one table."""

import importlib
import os

from django.conf import settings
from django.db import connection
from django.test.utils import setup_test_environment

from scripts.bench.figures import report_figures

# Section name → its module, in the order a full run takes them.
SECTIONS = {
    "scan": "scan",
    "import": "legacy_import",
    "search": "search",
    "plans": "plans",
    "chat": "chat",
    "lists": "lists",
    "topology": "topology",
    "pages": "pages",
    "reports": "reports",
    "api": "api",
    "hooks": "hooks",
    "frameworks": "frameworks",
    "similar": "similar",
}


def main() -> None:
    chosen = [n.strip() for n in os.environ.get("BENCH_ONLY", "").split(",") if n.strip()]
    unknown = set(chosen) - set(SECTIONS)
    if unknown:
        raise SystemExit(
            f"BENCH_ONLY: no section {', '.join(sorted(unknown))}; one of {', '.join(SECTIONS)}"
        )
    setup_test_environment()
    settings.DEBUG = False
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        for name in chosen or SECTIONS:
            importlib.import_module(f"scripts.bench.{SECTIONS[name]}").run()
            print()
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
    report_figures()


if __name__ == "__main__":
    main()
