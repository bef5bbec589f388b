"""Real servers and workspaces for the tests."""
