"""Bringing the factory's legacy Excel workbook in: read (workbook, columns), check (checks),
plan (people, plan) and write (writing), run as one import by importer; what it tells in report."""
