"""The interactive triage app (Textual): a view over `secretsweep.triage.TriageSession`."""
