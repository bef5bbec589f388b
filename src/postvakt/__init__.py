"""Postvakt: watches municipal mailboxes in place, registers complaints and opinions as cases,
drafts replies and keeps the service rules of the municipality's own routines."""

__version__ = "0.1.0"
__all__ = ["__version__"]
