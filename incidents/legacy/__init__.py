"""Bringing the factory's legacy Excel workbook in: read (workbook), check and write (importer)."""
