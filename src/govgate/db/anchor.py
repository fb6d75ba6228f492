"""The audit trail anchored outside the database: exports, and the checkpoints they leave.

`export` writes the trail as JSON lines (`audit.jsonl`, one event a line, in the
canonical JSON of db.state) and its head (`head.json`: the last row's seq and hash,
the row count, the database id, when, and the SHA-256 of audit.jsonl). A head.json
is a checkpoint: `load_checkpoint` reads it, or the audit head a report file carries,
and `audit.verify_chain` then checks that the row it names still has its hash.
Someone who can write the database can rewrite the whole chain consistently; they
cannot make a rewritten row keep the hash a copy outside recorded.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import Connection

from ..errors import BadInput, CheckFailed, EnvironmentFault
from ..files import MiB, read_bounded
from . import audit, evidence
from .state import canonical_json, sha256_hex

FORMAT_VERSION = 1
TRAIL_FILE = "audit.jsonl"
HEAD_FILE = "head.json"
HEAD_KEYS = (
    "format_version",
    "database_id",
    "rows",
    "head_seq",
    "head_hash",
    "exported_at",
    "audit_jsonl_sha256",
)
_HASH = re.compile(r"^[0-9a-f]{64}$")
_LEFTOVER = re.compile(r"^\.(audit\.jsonl|head\.json)\.\d+\.tmp$")  # of an interrupted export
# The line a text report carries (agent.reports writes it with `head_line`).
_HEAD_LINE = re.compile(
    r"^Audit trail head after commit: row (\d+), hash ([0-9a-f]{64}) \(read at (\S+)\)\.$", re.M
)
_HINT = (
    "give the head.json of a `govgate audit export`, or a report file (<rollout>.json or .txt) "
    "the agent wrote"
)


@dataclass(frozen=True)
class ExportResult:
    """What `audit export` wrote: the folder, the head it recorded, and the chain's state then."""

    folder: str
    rows: int
    head_seq: int
    head_hash: str
    database_id: str | None
    exported_at: str
    audit_jsonl_sha256: str
    replaced: bool  # a previous export in the folder was replaced (it still matched the trail)
    chain: audit.ChainCheck
    signatures: int = 0  # signed approvals written as <id>.json + <id>.sig
    allowed_signers: bool = False  # the trust root was copied beside them


def head_line(seq: int, digest: str, at: str) -> str:
    """The sentence a text report carries; `load_checkpoint` reads it back."""
    return f"Audit trail head after commit: row {seq}, hash {digest} (read at {at})."


def event_line(event: audit.AuditEvent) -> str:
    """One event as canonical JSON: every field, the hash included."""
    return canonical_json(dataclasses.asdict(event))


def export(
    conn: Connection,
    folder: str | os.PathLike,
    *,
    directus: bool | None,
    allowed_signers: str | None = None,
) -> ExportResult:
    """Write FOLDER/audit.jsonl and FOLDER/head.json from the trail as CONN sees it, and
    per signed approval its payload and signature, with a copy of ALLOWED_SIGNERS
    (`evidence.export_files`), so that `ssh-keygen -Y verify` can check each.

    FOLDER must be new, empty, or a previous export; a previous export is replaced
    only while the trail still matches its head (CheckFailed otherwise: it is the
    evidence). A new or empty folder is written as a whole (a temporary folder
    renamed into place); a previous export is replaced file by file, each through a
    temporary file and a rename, audit.jsonl first and head.json last.
    """
    target = Path(folder)
    previous = _previous_export(target)
    trail = audit.events(conn)
    db_id = audit.database_id(conn)
    if previous is not None:
        found = audit.checkpoint_problem(trail, previous, db_id)
        if found:
            raise CheckFailed(
                f"the trail no longer matches the previous export in {target}: {found[0]}; "
                "nothing was written",
                hint="keep that export: it is the evidence; export to a new folder to see "
                "the trail as it is now",
            )
    chain = audit.verify_chain(conn, directus=directus)
    body = "".join(event_line(e) + "\n" for e in trail)
    last = trail[-1] if trail else None
    head = {
        "format_version": FORMAT_VERSION,
        "database_id": db_id,
        "rows": len(trail),
        "head_seq": last.seq if last else 0,
        "head_hash": last.hash if last else audit.GENESIS,
        "exported_at": audit.now_iso(),
        "audit_jsonl_sha256": sha256_hex(body),
    }
    try:
        signed = evidence.export_files(conn, allowed_signers)
        files = {
            **signed,
            TRAIL_FILE: body,
            HEAD_FILE: json.dumps(head, indent=2, sort_keys=True) + "\n",
        }
        _write(target, files, replacing=previous is not None)
    except OSError as exc:
        raise EnvironmentFault(
            f"cannot write the audit export to {target}: {exc.strerror or exc}"
        ) from exc
    return ExportResult(
        str(target),
        head["rows"],
        head["head_seq"],
        head["head_hash"],
        db_id,
        head["exported_at"],
        head["audit_jsonl_sha256"],
        previous is not None,
        chain,
        sum(name.endswith(".sig") for name in signed),
        evidence.SIGNERS_FILE in signed,
    )


def _previous_export(target: Path) -> audit.Checkpoint | None:
    """The head of the export already in TARGET; None when TARGET is new or empty."""
    if not target.exists():
        return None
    if not target.is_dir():
        raise BadInput(f"{target} exists and is not a folder; nothing was written")
    try:
        names = {p.name for p in target.iterdir() if not _LEFTOVER.match(p.name)}
    except OSError as exc:
        raise BadInput(f"cannot read the folder {target}: {exc.strerror or exc}") from None
    if not names:
        return None
    others = {n for n in names - {TRAIL_FILE, HEAD_FILE} if not evidence.is_export_file(n)}
    if HEAD_FILE not in names or others:
        raise BadInput(
            f"{target} is not empty and is not a previous audit export "
            f"(it holds {', '.join(sorted(names)[:5])}); nothing was written",
            hint="export to a new or empty folder, or to the folder of a previous export",
        )
    try:
        return load_checkpoint(target / HEAD_FILE, head_only=True)
    except BadInput as exc:
        raise BadInput(
            f"{target} is not a previous audit export: {exc.message}; nothing was written",
            hint="export to a new or empty folder",
        ) from exc


def _write(target: Path, files: dict[str, str], *, replacing: bool) -> None:
    if replacing:
        for name, text in files.items():  # the head last: it names what it checked
            _atomic_write(target / name, text)
        return
    target = target.resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    staging.mkdir()  # with the umask's permissions, like the folder it becomes
    try:
        for name, text in files.items():
            _write_synced(staging / name, text)
        os.replace(staging, target)  # rename(2) replaces an empty folder
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        _write_synced(tmp, text)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _write_synced(path: Path, text: str) -> None:
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())


# -- checkpoints -----------------------------------------------------------------


def load_checkpoint(path: str | os.PathLike, *, head_only: bool = False) -> audit.Checkpoint:
    """The checkpoint in PATH: an export's head.json, or a report file carrying the head.

    BadInput, naming the file, when it is missing, unreadable, not JSON (and not a
    text report with its head line) or lacks the keys of either kind.
    """
    p = Path(path)
    try:
        text = read_bounded(p, 256 * MiB).decode("utf-8")
    except FileNotFoundError:
        raise BadInput(f"checkpoint file {p} does not exist", hint=_HINT) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(f"checkpoint file {p} cannot be read: {exc}", hint=_HINT) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        found = None if head_only else _HEAD_LINE.search(text)
        if found:
            return audit.Checkpoint(int(found[1]), found[2], found[3], str(p))
        raise BadInput(
            f"checkpoint file {p} is not JSON ({exc.msg} at line {exc.lineno})", hint=_HINT
        ) from None
    if head_only or (isinstance(data, dict) and set(HEAD_KEYS) & set(data)):
        return _from_head(data, p)
    verification = data.get("verification") if isinstance(data, dict) else None
    head = verification.get("audit_head") if isinstance(verification, dict) else None
    if head is None:
        raise BadInput(
            f"checkpoint file {p} is neither an audit export's head.json nor a report "
            "carrying the audit head (verification.audit_head)",
            hint=_HINT,
        )
    if not isinstance(head, dict):
        raise BadInput(f"checkpoint file {p}: verification.audit_head is not an object")
    fields = ("seq", "hash", "at")
    return _checkpoint(p, head, fields, fields, "verification.audit_head.", None)


def _from_head(data, p: Path) -> audit.Checkpoint:
    if not isinstance(data, dict):
        raise BadInput(f"checkpoint file {p} is not a JSON object", hint=_HINT)
    missing = [k for k in HEAD_KEYS if k not in data]
    if missing:
        raise BadInput(f"checkpoint file {p} lacks {', '.join(missing)}", hint=_HINT)
    if data["format_version"] != FORMAT_VERSION:
        raise BadInput(
            f"checkpoint file {p} has format_version {data['format_version']!r}; "
            f"this govgate reads format_version {FORMAT_VERSION}"
        )
    db_id = data["database_id"]
    if db_id is not None and not isinstance(db_id, str):
        raise BadInput(f"checkpoint file {p}: database_id is not a string or null")
    return _checkpoint(p, data, HEAD_KEYS, ("head_seq", "head_hash", "exported_at"), "", db_id)


def _checkpoint(
    p: Path,
    data: dict,
    required: tuple[str, ...],
    fields: tuple[str, str, str],
    prefix: str,
    db_id: str | None,
) -> audit.Checkpoint:
    missing = [prefix + k for k in required if k not in data]
    if missing:
        raise BadInput(f"checkpoint file {p} lacks {', '.join(missing)}", hint=_HINT)
    seq, digest, at = (data[k] for k in fields)
    if isinstance(seq, bool) or not isinstance(seq, int) or seq < 0:
        raise BadInput(f"checkpoint file {p}: {prefix}{fields[0]} is not a row number ({seq!r})")
    if not isinstance(digest, str) or not _HASH.match(digest):
        raise BadInput(f"checkpoint file {p}: {prefix}{fields[1]} is not a SHA-256 hex digest")
    if not isinstance(at, str) or not at:
        raise BadInput(f"checkpoint file {p}: {prefix}{fields[2]} is not a time")
    return audit.Checkpoint(seq, digest, at, str(p), db_id)
