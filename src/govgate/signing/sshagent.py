"""A minimal ssh-agent client: list the agent's keys, or ask it for one signature.

Speaks the agent protocol (draft-miller-ssh-agent / RFC 9987) over a unix socket, one
request per connection; no program is started. Every failure is a SigningError with a
SIGNING_REASONS code.
"""

from __future__ import annotations

import os
import socket

from govgate.signing import sshwire
from govgate.signing.errors import SigningError

SSH_AGENT_FAILURE = 5
SSH_AGENTC_REQUEST_IDENTITIES = 11
SSH_AGENT_IDENTITIES_ANSWER = 12
SSH_AGENTC_SIGN_REQUEST = 13
SSH_AGENT_SIGN_RESPONSE = 14
SSH_AGENT_EXTENSION_FAILURE = 28
SSH_COM_AGENT2_FAILURE = 102
SSH_AGENT_RSA_SHA2_256 = 0x02
SSH_AGENT_RSA_SHA2_512 = 0x04
_FAILURES = (SSH_AGENT_FAILURE, SSH_AGENT_EXTENSION_FAILURE, SSH_COM_AGENT2_FAILURE)
# OpenSSH's own client refuses longer replies (MAX_AGENT_REPLY_LEN); anything near this
# is not an agent.
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


def _transact(
    socket_path: str, request: bytes, answer: int, timeout: float, refusal: str
) -> sshwire.Reader:
    """Send one framed request, return a reader over the body of an ``answer`` reply.

    ``timeout`` bounds each socket operation. Raises SigningError "agent-unavailable"
    (cannot connect), "agent-refused" with ``refusal`` as message (a failure reply), or
    "agent-protocol" (I/O error, timeout, implausible length, another reply type).
    """
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.connect(socket_path)
        except OSError as exc:
            raise SigningError(
                "agent-unavailable", f"cannot connect to agent at {socket_path}: {exc}"
            ) from exc
        try:
            sock.sendall(sshwire.u32(len(request)) + request)
            length = int.from_bytes(_recv_exact(sock, 4), "big")
            if not 0 < length <= _MAX_REPLY:
                raise SigningError("agent-protocol", f"implausible reply length {length}")
            reply = _recv_exact(sock, length)
        except OSError as exc:  # includes socket.timeout
            raise SigningError("agent-protocol", f"agent exchange failed: {exc}") from exc
    kind = reply[0]
    if kind in _FAILURES:
        raise SigningError("agent-refused", refusal)
    if kind != answer:
        raise SigningError("agent-protocol", f"unexpected agent reply type {kind}")
    return sshwire.Reader(reply[1:])


def list_identities(socket_path: str, timeout: float = 10.0) -> list[tuple[bytes, str]]:
    """The keys the agent at ``socket_path`` holds, as (public key blob, comment) pairs in
    the agent's order. Blobs are returned as sent (certificates and key types this package
    cannot use included); comments that are not UTF-8 are decoded with replacement.

    Raises SigningError "agent-unavailable" (cannot connect), "agent-refused" (failure
    reply) or "agent-protocol" (I/O error, timeout, unexpected or malformed reply).
    """
    r = _transact(
        socket_path,
        bytes([SSH_AGENTC_REQUEST_IDENTITIES]),
        SSH_AGENT_IDENTITIES_ANSWER,
        timeout,
        "the agent refused to list its keys",
    )
    try:
        identities = []
        # A lying count ends in WireError once the (size-capped) reply runs out.
        for _ in range(r.u32()):
            blob = r.string()
            comment = r.string().decode("utf-8", errors="replace")
            identities.append((blob, comment))
        r.end()
    except sshwire.WireError as exc:
        raise SigningError("agent-protocol", f"malformed identities answer: {exc}") from exc
    return identities


def agent_sign(socket_path: str, key_blob: bytes, data: bytes, flags: int, timeout: float) -> bytes:
    """Ask the agent at ``socket_path`` to sign ``data`` with the key ``key_blob``.

    Returns the signature blob exactly as the agent sent it (unverified: the caller checks
    it). Raises SigningError "agent-unavailable" (cannot connect), "agent-refused"
    (failure reply: key not loaded, confirmation declined, touch timed out) or
    "agent-protocol" (I/O error, timeout, unexpected or malformed reply).
    """
    request = bytes([SSH_AGENTC_SIGN_REQUEST])
    request += sshwire.string(key_blob) + sshwire.string(data) + sshwire.u32(flags)
    r = _transact(
        socket_path,
        request,
        SSH_AGENT_SIGN_RESPONSE,
        timeout,
        "the agent refused to sign (key not loaded, or confirmation/touch declined)",
    )
    try:
        sig = r.string()
        r.end()
    except sshwire.WireError as exc:
        raise SigningError("agent-protocol", f"malformed sign response: {exc}") from exc
    return sig
