"""Kept for the migrations written when CodeField lived here; it lives in `locations.fields`."""

from locations.fields import CodeField

__all__ = ["CodeField"]
