#!/usr/bin/env bash
# Regenerates locale/zh_Hans: the project's own strings plus Unfold's, which ships no Chinese
# (our catalogue comes first in LOCALE_PATHS, so it translates Unfold's templates too).
set -euo pipefail
cd "$(dirname "$0")/.."
unfold_dir=$(.venv/bin/python -c "import os, unfold; print(os.path.dirname(unfold.__file__))")
ln -sfn "$unfold_dir" _unfold
trap 'rm -f _unfold' EXIT
.venv/bin/python manage.py makemessages --locale zh_Hans --symlinks --no-obsolete \
  --ignore '.venv/*' --ignore 'staticfiles/*' --ignore 'tests/*' --ignore 'var/*'
.venv/bin/python manage.py compilemessages --locale zh_Hans --ignore '.venv/*' --ignore '_unfold/*'
