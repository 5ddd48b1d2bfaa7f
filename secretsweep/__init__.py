"""secretsweep: find leaked credentials, triage them, and move the real ones into AWS Secrets Manager."""

__version__ = "0.1.0"
