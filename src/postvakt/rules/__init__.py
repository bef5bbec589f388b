"""Service rules: the working-day calendar, policies and deadlines."""
