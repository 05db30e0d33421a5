"""Building blocks every app may use: list rendering, filters, search, spreadsheets, uploads,
widgets, ids, language lookup, bulk history writes. They import Django and libraries only,
never an app of the product (tests/config/test_layers.py checks it)."""
