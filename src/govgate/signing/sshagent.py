"""A minimal ssh-agent client: one SSH_AGENTC_SIGN_REQUEST over a unix socket.

Speaks the agent protocol (draft-miller-ssh-agent / RFC 9987) directly; no program is
started. Every failure is a SigningError with a SIGNING_REASONS code.
"""

from __future__ import annotations

import os
import socket

from govgate.signing import sshwire
from govgate.signing.errors import SigningError

SSH_AGENT_FAILURE = 5
SSH_AGENTC_SIGN_REQUEST = 13
SSH_AGENT_SIGN_RESPONSE = 14
SSH_AGENT_EXTENSION_FAILURE = 28
SSH_COM_AGENT2_FAILURE = 102
SSH_AGENT_RSA_SHA2_256 = 0x02
SSH_AGENT_RSA_SHA2_512 = 0x04
# A signature reply is a few hundred bytes; anything near this is not an agent.
_MAX_REPLY = 256 * 1024


def default_socket() -> str:
    """$SSH_AUTH_SOCK; SigningError "agent-unavailable" when unset or empty."""
    path = os.environ.get("SSH_AUTH_SOCK", "")
    if not path:
        raise SigningError("agent-unavailable", "SSH_AUTH_SOCK is not set")
    return path


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    chunks, left = [], n
    while left:
        chunk = sock.recv(min(left, 65536))
        if not chunk:
            raise SigningError("agent-protocol", "the agent closed the connection mid-reply")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def agent_sign(socket_path: str, key_blob: bytes, data: bytes, flags: int, timeout: float) -> bytes:
    """Ask the agent at ``socket_path`` to sign ``data`` with the key ``key_blob``.

    Returns the signature blob exactly as the agent sent it (unverified: the caller checks
    it). Raises SigningError "agent-unavailable" (cannot connect), "agent-refused"
    (failure reply: key not loaded, confirmation declined, touch timed out) or
    "agent-protocol" (I/O error, timeout, unexpected or malformed reply).
    """
    body = bytes([SSH_AGENTC_SIGN_REQUEST])
    body += sshwire.string(key_blob) + sshwire.string(data) + sshwire.u32(flags)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.connect(socket_path)
        except OSError as exc:
            raise SigningError(
                "agent-unavailable", f"cannot connect to agent at {socket_path}: {exc}"
            ) from exc
        try:
            sock.sendall(sshwire.u32(len(body)) + body)
            length = int.from_bytes(_recv_exact(sock, 4), "big")
            if not 0 < length <= _MAX_REPLY:
                raise SigningError("agent-protocol", f"implausible reply length {length}")
            reply = _recv_exact(sock, length)
        except OSError as exc:  # includes socket.timeout
            raise SigningError("agent-protocol", f"agent exchange failed: {exc}") from exc
    kind = reply[0]
    if kind in (SSH_AGENT_FAILURE, SSH_AGENT_EXTENSION_FAILURE, SSH_COM_AGENT2_FAILURE):
        raise SigningError(
            "agent-refused",
            "the agent refused to sign (key not loaded, or confirmation/touch declined)",
        )
    if kind != SSH_AGENT_SIGN_RESPONSE:
        raise SigningError("agent-protocol", f"unexpected agent reply type {kind}")
    r = sshwire.Reader(reply[1:])
    try:
        sig = r.string()
        r.end()
    except sshwire.WireError as exc:
        raise SigningError("agent-protocol", f"malformed sign response: {exc}") from exc
    return sig
