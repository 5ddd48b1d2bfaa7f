"""The exceptions secretsweep raises on purpose, each carrying the exit code the CLI uses.

Only the CLI catches these; everything else lets them travel.
"""

from __future__ import annotations

EXIT_CLEAN = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
EXIT_AWS = 3
EXIT_ROLLED_BACK = 4
EXIT_INTERRUPTED = 130


class SecretsweepError(Exception):
    """An error with a one-line message meant for the user and a documented exit code."""

    exit_code = EXIT_USAGE

    def __init__(self, message: str, exit_code: int | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class UsageError(SecretsweepError):
    """Bad command-line input: a missing path, an unknown option value."""


class RuleError(SecretsweepError):
    """A rule file or rule that cannot be loaded or compiled."""


class SourceError(SecretsweepError):
    """A scan target that cannot be read at all (not a repository, a corrupt repository)."""


class StoreError(SecretsweepError):
    """The findings store cannot be opened, read or upgraded."""


class BaselineError(SecretsweepError):
    """The baseline file is corrupt, hand-broken or from a newer version."""


class AwsError(SecretsweepError):
    """An AWS call failed before anything was changed."""

    exit_code = EXIT_AWS


class MigrationRolledBack(SecretsweepError):
    """A migration failed midway and everything it did was undone."""

    exit_code = EXIT_ROLLED_BACK
