"""The registry: the database, diary numbers and cases."""
