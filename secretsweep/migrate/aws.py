"""A thin adapter over boto3's Secrets Manager client: create, describe, get, put, delete.

Every botocore error becomes AwsError with one line naming the operation, never a value; a missing
credential gets a message that says how to provide one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from secretsweep.errors import AwsError

CREATED_BY = "secretsweep"


def scrub(text: str, secrets: Iterable[bytes]) -> str:
    """`text` with every plaintext in `secrets` replaced by a redaction (error messages may echo input)."""
    for s in secrets:
        if len(s) >= 4:
            plain = s.decode("utf-8", errors="replace")
            text = text.replace(plain, f"{plain[:3]}…({len(plain)})")
    return text


@dataclass(frozen=True)
class ExistingSecret:
    name: str
    arn: str
    tags: dict[str, str]
    deleted: bool
    kms_key_id: str | None


class SecretsManager:
    def __init__(self, *, region: str | None = None, profile: str | None = None, endpoint_url: str | None = None,
                 kms_key_id: str | None = None, client: Any = None, redact: Iterable[bytes] = ()) -> None:
        self.kms_key_id = kms_key_id
        self._redact = list(redact)
        self.calls = 0
        if client is not None:
            self.client = client
            return
        try:
            import boto3
            from botocore.config import Config
        except ImportError:
            raise AwsError("boto3 is not installed: pip install 'secretsweep[migrate]'") from None
        try:
            session = boto3.Session(profile_name=profile, region_name=region)
        except Exception as exc:
            raise AwsError(self._message("open the AWS session", exc)) from None
        if session.region_name is None:
            raise AwsError("no AWS region: pass --region or set AWS_REGION (or a region in the profile)")
        config = Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=5, read_timeout=30)
        self.region = session.region_name
        self.client = session.client("secretsmanager", endpoint_url=endpoint_url, config=config)

    # -- errors -----------------------------------------------------------------------------------
    def _message(self, what: str, exc: BaseException) -> str:
        name = type(exc).__name__
        if name in ("NoCredentialsError", "PartialCredentialsError"):
            return ("no AWS credentials found: set AWS_PROFILE (or --profile), or AWS_ACCESS_KEY_ID and "
                    "AWS_SECRET_ACCESS_KEY, or run `aws sso login`")
        if name == "ProfileNotFound":
            return f"AWS profile not found: {exc}"
        if name in ("EndpointConnectionError", "ConnectTimeoutError", "ConnectionClosedError", "ReadTimeoutError"):
            return f"cannot {what}: AWS endpoint unreachable ({name})"
        response = getattr(exc, "response", None)
        if isinstance(response, Mapping):
            err = response.get("Error", {})
            return scrub(f"cannot {what}: {err.get('Code', name)}: {err.get('Message', '')}".rstrip(": "),
                         self._redact)
        return scrub(f"cannot {what}: {name}: {exc}", self._redact)

    def _call(self, what: str, op: str, **kwargs: Any) -> Any:
        self.calls += 1
        try:
            return getattr(self.client, op)(**kwargs)
        except AwsError:
            raise
        except Exception as exc:
            if type(exc).__module__.startswith(("botocore", "boto3", "urllib3")) or hasattr(exc, "response"):
                raise AwsError(self._message(what, exc)) from None
            raise

    # -- operations -------------------------------------------------------------------------------
    def describe(self, name: str) -> ExistingSecret | None:
        """The secret called `name`, or None when there is none."""
        try:
            self.calls += 1
            r = self.client.describe_secret(SecretId=name)
        except Exception as exc:
            code = getattr(exc, "response", {}).get("Error", {}).get("Code") if hasattr(exc, "response") else None
            if code == "ResourceNotFoundException":
                return None
            raise AwsError(self._message(f"describe secret {name}", exc)) from None
        tags = {t["Key"]: t["Value"] for t in r.get("Tags", [])}
        return ExistingSecret(r["Name"], r["ARN"], tags, bool(r.get("DeletedDate")), r.get("KmsKeyId"))

    def get_value(self, name: str) -> str | None:
        r = self._call(f"read secret {name}", "get_secret_value", SecretId=name)
        return r.get("SecretString")

    def create(self, name: str, value: str, tags: Mapping[str, str], description: str = "") -> str:
        """Create the secret; its ARN."""
        kwargs: dict[str, Any] = {"Name": name, "SecretString": value,
                                  "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}
        if description:
            kwargs["Description"] = description
        if self.kms_key_id:
            kwargs["KmsKeyId"] = self.kms_key_id
        r = self._call(f"create secret {name}", "create_secret", **kwargs)
        return str(r["ARN"])

    def put_value(self, name: str, value: str) -> str:
        """A new current version; its version id."""
        r = self._call(f"update secret {name}", "put_secret_value", SecretId=name, SecretString=value)
        return str(r["VersionId"])

    def current_version(self, name: str) -> str | None:
        r = self._call(f"describe secret {name}", "describe_secret", SecretId=name)
        for vid, stages in (r.get("VersionIdsToStages") or {}).items():
            if "AWSCURRENT" in stages:
                return str(vid)
        return None

    def restore_version(self, name: str, old: str, new: str) -> None:
        self._call(f"restore secret {name}", "update_secret_version_stage", SecretId=name,
                   VersionStage="AWSCURRENT", MoveToVersionId=old, RemoveFromVersionId=new)

    def delete(self, name: str) -> None:
        self._call(f"delete secret {name}", "delete_secret", SecretId=name, ForceDeleteWithoutRecovery=True)
