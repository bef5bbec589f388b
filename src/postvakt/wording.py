"""Small rules of Swedish (and English) wording shared by everything people read."""

from __future__ import annotations

__all__ = ["count"]


def count(n: int, one: str, many: str) -> str:
    """``n`` with the noun in the right number: ``count(1, "sak", "saker")`` is '1 sak',
    ``count(2, "sak", "saker")`` '2 saker' (and 0 takes the plural: '0 saker')."""
    return f"{n} {one if n == 1 else many}"
