"""Full screens of the triage app: help and the migration plan."""
