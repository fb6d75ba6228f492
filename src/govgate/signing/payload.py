"""The canonical approval payload: what an approver signs, byte for byte.

An in-toto Statement v1 whose subject is the proposal (its id, and its SHA-256 as the
digest) and whose predicate says who approves it, when, until when, what they state, and
for which database in which expected state. The bytes are canonical JSON, version 1:

- UTF-8, no byte order mark, no insignificant white space (`,` and `:` separators);
- object keys sorted by their UTF-16 code units (for these keys: plain ASCII order);
- strings as JSON escapes them minimally (`"`, `\\`, control characters as `\\u00XX`
  except `\\b \\f \\n \\r \\t`), every other character as itself;
- only strings and integers appear as values, so no number formatting questions arise.

The same bytes are signed with SSHSIG (namespace `govgate-approval`) or, as the SHA-256
challenge, with a WebAuthn passkey. Changing any field changes the bytes and breaks the
signature. `docs/SECURITY.md` says why a valid signature by an allowed signer is evidence.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

FORMAT_VERSION = 1
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "urn:govgate:approval:v1"
NAMESPACE = "govgate-approval"


@dataclass(frozen=True)
class ApprovalPayload:
    """The facts an approval signs. Inert; `encode` gives the canonical bytes."""

    proposal_id: str
    proposal_sha256: str
    approval_id: str
    approver: str
    approved_at: str  # ISO 8601, UTC, seconds
    not_after: str  # ISO 8601, UTC, seconds
    statement: str
    database_id: str
    expected_fingerprint: str

    def document(self) -> dict:
        """The in-toto Statement as plain data."""
        return {
            "_type": STATEMENT_TYPE,
            "subject": [{"name": self.proposal_id, "digest": {"sha256": self.proposal_sha256}}],
            "predicateType": PREDICATE_TYPE,
            "predicate": {
                "format_version": FORMAT_VERSION,
                "approval_id": self.approval_id,
                "approver": self.approver,
                "approved_at": self.approved_at,
                "not_after": self.not_after,
                "statement": self.statement,
                "targets": [
                    {
                        "database_id": self.database_id,
                        "expected_fingerprint": self.expected_fingerprint,
                    }
                ],
            },
        }

    def encode(self) -> bytes:
        """The canonical bytes that are signed."""
        return canonical(self.document())

    def challenge(self) -> bytes:
        """SHA-256 of the canonical bytes: the WebAuthn challenge."""
        return hashlib.sha256(self.encode()).digest()


def canonical(data: object) -> bytes:
    """Canonical JSON v1 of DATA (strings, integers, lists and objects only)."""
    _check(data)
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8")


def decode(raw: bytes) -> ApprovalPayload:
    """The payload RAW encodes; ValueError when RAW is not exactly a canonical v1 payload."""
    try:
        data = json.loads(raw.decode("utf-8"))
        predicate = data["predicate"]
        subject = data["subject"][0]
        target = predicate["targets"][0]
        payload = ApprovalPayload(
            proposal_id=subject["name"],
            proposal_sha256=subject["digest"]["sha256"],
            approval_id=predicate["approval_id"],
            approver=predicate["approver"],
            approved_at=predicate["approved_at"],
            not_after=predicate["not_after"],
            statement=predicate["statement"],
            database_id=target["database_id"],
            expected_fingerprint=target["expected_fingerprint"],
        )
    except (UnicodeDecodeError, ValueError, KeyError, IndexError, TypeError) as exc:
        raise ValueError(f"not an approval payload: {exc}") from exc
    if payload.encode() != raw:
        raise ValueError("the payload is not in canonical form v1 (or has unknown fields)")
    return payload


def _check(data: object) -> None:
    if isinstance(data, bool) or not isinstance(data, (str, int, list, dict)):
        raise TypeError(f"canonical JSON v1 holds strings, integers, lists, objects: {data!r}")
    if isinstance(data, list):
        for item in data:
            _check(item)
    elif isinstance(data, dict):
        for key, value in data.items():
            if not isinstance(key, str):
                raise TypeError(f"object keys are strings: {key!r}")
            _check(value)
