"""`nox -s bench`: how long synthesis takes and how much memory it needs (tooling, not product code)."""
