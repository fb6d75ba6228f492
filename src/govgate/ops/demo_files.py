"""What the SQLite demo leaves beside its database: the approver's key, the trust root, the
configuration that names both.

The demo is Directus-shaped with no Directus server behind it, so an approval made at the
terminal counts only when signed (docs/SECURITY.md). So that the whole story still runs at
a terminal, `govgate demo` writes beside the database file:

- `oneroof-demo-approver` (+ `.pub`): an Ed25519 OpenSSH key for approver@oneroof.example,
  without passphrase, mode 0600 (a demo key: a real approver makes their own, or uses a
  FIDO security key, see README);
- `allowed_signers`: OpenSSH's format, trusting that key for that principal, for the
  `govgate-approval` namespace only;
- `govgate.toml`: the database, `[approvals] allowed_signers` and `require_signature`.

A file that exists and was not written by the demo is never overwritten: it is left as it is
and named in the result. The key is reused when the demo is rebuilt, so that a person who
copied the public key somewhere keeps it valid.
"""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives import serialization

from ..signing import sshkeys
from ..signing.payload import NAMESPACE

APPROVER = "approver@oneroof.example"
KEY_NAME = "oneroof-demo-approver"
SIGNERS_NAME = "allowed_signers"
CONFIG_NAME = "govgate.toml"
MARK = "# Written by `govgate demo` for the One-Roof demo beside it."


def write(folder: Path, database: Path) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Write the demo's key, allowed_signers and govgate.toml into FOLDER, for DATABASE.

    Returns (written, kept): the files written, and those left alone because they exist and
    are not the demo's. Raises OSError when FOLDER cannot be written.
    """
    key = folder / KEY_NAME
    public = _key(key)  # "type base64", without the comment the .pub file carries
    files = {
        folder / SIGNERS_NAME: (
            f"{MARK}\n# Who may sign approvals: principal, options, public key (ssh-keygen(1)).\n"
            f'{APPROVER} namespaces="{NAMESPACE}" {public}\n'
        ),
        folder / CONFIG_NAME: (
            f"{MARK}\n"
            "[database]\n"
            f'url = "sqlite:///{database.resolve()}"\n\n'
            "[approvals]\n"
            "# The trust root: whose keys may sign approvals (outside the database).\n"
            f'allowed_signers = "{SIGNERS_NAME}"\n'
            "# An approval counts only when signed by an allowed signer.\n"
            "require_signature = true\n"
        ),
    }
    written, kept = [str(key), f"{key}.pub"], []
    for path, text in files.items():
        if path.exists() and not path.read_text(errors="replace").startswith(MARK):
            kept.append(str(path))
            continue
        path.write_text(text)
        written.append(str(path))
    return tuple(written), tuple(kept)


def _key(path: Path) -> str:
    """The public line of the demo key at PATH, made first when there is none."""
    if not path.exists():
        return sshkeys.new_key_file(path, APPROVER)
    private = serialization.load_ssh_private_key(path.read_bytes(), None)
    line = sshkeys.public_key_line(sshkeys.public_blob_of(private))
    Path(f"{path}.pub").write_text(f"{line} {APPROVER}\n")
    return line
