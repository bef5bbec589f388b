"""Absence delegation: who covers whom, the auto-reply texts, and applying both to mailboxes."""
