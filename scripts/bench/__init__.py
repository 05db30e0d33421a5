"""Benchmarks: figures, not pass/fail, each a ratio against a baseline measured in the same run.
`make bench` (`python -m scripts.bench`) runs every section on a test database of its own;
`BENCH_ONLY=chat,search` runs some only. One module per section, each with its `run()`:

- `scan`: moves per second through the real scan station (scan.py);
- `import`: the legacy import of a generated workbook, and its peak memory (legacy_import.py);
- `search`: chat search over a million messages (search.py);
- `chat`: delivery between two uvicorn processes on Redis (chat.py);
- `lists`: the incident and device lists in headless Chromium (lists.py);
- `topology`: nginx in front of one, then two app processes (topology.py);
- `pages`: every admin page at 1,000 and 100,000 seeded incidents (pages.py);
- `reports`: a large problem group's report made by a real worker process (reports.py);
- `hooks`: opening and cancelling an incident with 0 and with 5 webhooks (hooks.py);
- `frameworks`: the results endpoint in django-ninja (the product's) and in Django REST
  Framework with drf-spectacular (drf_results.py, bench only), on the same batches (frameworks.py);
- `similar`: an incident's "Seen before" panel at 100,000 incidents, against the goal of 50 ms
  (similar.py).

Figures go to one table at the end and to bench/results.json (figures.py). The servers they
start are those the tests start (scripts/servers.py, scripts/topology.py)."""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()
