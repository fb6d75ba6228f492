"""Approvals as evidence: OpenSSH signatures (SSHSIG) over a canonical payload."""
