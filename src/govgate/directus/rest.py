"""A small client of Directus's REST API, used by `govgate ratify` on behalf of a person.

Why through the API and not the database: Directus writes the item, its `directus_activity`
row and its revision itself, under the user who is logged in. An approval created here is
therefore evidence that the person logged in to Directus (password, two-factor code, or
their own static token) and that Directus's permissions let them create it.

This is the only code in govgate that talks to Directus's REST API for a person. It uses
the standard library only, never a proxy, follows no redirect (a token is never sent on to
another address) and always sets a timeout.

Failure contract:
- `DirectusRefused` (a `Refused`, exit 1): Directus answered and said no. `code` is its
  `errors[0].extensions.code` (`INVALID_CREDENTIALS`, `INVALID_OTP`, `FORBIDDEN`,
  `RECORD_NOT_UNIQUE`, ...) or `HTTP_<status>` when it gave none; `hint` says what to do.
  A user with two-factor authentication who gave no or a wrong one-time password gets
  `INVALID_OTP`: callers ask for the code and call `login` again.
- `DirectusUnavailable` (an `EnvironmentFault`, exit 3): no usable answer (connection
  refused, DNS, timeout, a 5xx, a body that is not JSON). The message names the URL.
- `BadInput` (exit 2): the URL is not a plain http(s) address (no user:password@).
Messages never contain the token or the password; text from the server is escaped
(`text.escape`) and scrubbed of both.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from urllib.parse import quote, urlsplit

from ..errors import BadInput, EnvironmentFault, Refused
from ..text import escape

TIMEOUT_S = 15.0

HINTS = {
    "INVALID_CREDENTIALS": "check the e-mail address and password (or the token) of your Directus "
    "user",
    "INVALID_OTP": "this user has two-factor authentication: give the current one-time password "
    "from the authenticator app",
    "FORBIDDEN": "your Directus role's policies do not allow this (or the item does not exist); "
    "ask a Directus administrator",
    "RECORD_NOT_UNIQUE": "an item with this id exists already",
    "REQUESTS_EXCEEDED": "Directus limits the rate of requests: wait a minute and try again",
}
_NO_HINT = "nothing was changed; Directus's message above says why"


class DirectusRefused(Refused):
    """Directus answered and refused; `code` is its error code (or `HTTP_<status>`)."""

    def __init__(self, message: str, *, code: str, hint: str | None = None):
        super().__init__(message, hint=hint or HINTS.get(code, _NO_HINT))
        self.code = code

    def to_dict(self) -> dict:
        return {**super().to_dict(), "code": self.code}


class DirectusUnavailable(EnvironmentFault):
    """Directus could not be reached or gave no usable answer."""


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None  # the 3xx is raised as an HTTPError: the token goes nowhere else


_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())


def _base(url: str) -> str:
    """URL without its trailing slash, once it is known to be a plain http(s) address."""
    parts = urlsplit(url or "")
    plain = not (parts.username or parts.password or parts.query or parts.fragment)
    if parts.scheme not in ("http", "https") or not parts.hostname or not plain:
        raise BadInput(
            f"the Directus URL {escape(urlsplit(url or '').hostname or '')!r} is not a plain "
            "http(s) address (no user, password, query or fragment)",
            hint="give the address of Directus, e.g. https://directus.example.org",
        )
    return url.rstrip("/")


def _segment(value: object) -> str:
    """VALUE as one path segment: every `/`, `?`, `#`, `%` quoted, and `.`/`..` too."""
    quoted = quote(str(value), safe="")
    return quoted if quoted.strip(".") else quoted.replace(".", "%2E")


segment = _segment  # for callers that build a path of their own


def _scrub(text: str, secrets: tuple[str | None, ...]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return escape(text)


def _request(
    url: str,
    method: str,
    path: str,
    *,
    what: str,
    token: str | None = None,
    body: dict | None = None,
    timeout: float = TIMEOUT_S,
    secrets: tuple[str | None, ...] = (),
) -> dict | list | None:
    """METHOD {url}{path} with JSON in and out; the answer's `data` (None for 204)."""
    base = _base(url)
    headers = {"Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = None
    if body is not None:
        data = json.dumps(body).encode("utf-8")
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(base + path, data=data, method=method, headers=headers)
    secrets = (token, *secrets)
    where = f"Directus at {escape(base)}"
    try:
        try:
            with _OPENER.open(request, timeout=timeout) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as exc:  # an answer all the same: read it below
            status, raw = exc.code, exc.read()
    except (urllib.error.URLError, OSError, http.client.HTTPException, ValueError) as exc:
        reason = _scrub(str(getattr(exc, "reason", exc) or type(exc).__name__), secrets)
        raise DirectusUnavailable(
            f"cannot reach {where} ({what}): {reason}",
            hint="check the Directus URL and that Directus is running and reachable from here",
        ) from None
    if status == 204 or (not raw and status < 300):
        return None
    try:
        answer = json.loads(raw.decode("utf-8"))
    except ValueError:
        answer = None
    if status >= 500 or not isinstance(answer, dict):
        raise DirectusUnavailable(
            f"{where} gave no usable answer ({what}): HTTP {status}"
            + ("" if isinstance(answer, dict) else ", not JSON"),
            hint="check the Directus URL (redirects are not followed: give the final address) "
            "and Directus's log",
        )
    if status < 300:
        return answer.get("data")
    errors = answer.get("errors")
    first = errors[0] if isinstance(errors, list) and errors and isinstance(errors[0], dict) else {}
    extensions = first.get("extensions") if isinstance(first.get("extensions"), dict) else {}
    code = str(extensions.get("code") or f"HTTP_{status}")
    said = _scrub(str(first.get("message") or ""), secrets)
    raise DirectusRefused(
        f"{where} refused {what}: {said or 'no reason given'} ({_scrub(code, secrets)})",
        code=code,
    )


@dataclass(frozen=True)
class Session:
    """A person's session on Directus: a static token, or the access token of a login."""

    url: str
    token: str = field(repr=False)
    refresh_token: str | None = field(default=None, repr=False)
    timeout: float = TIMEOUT_S

    def _call(self, method: str, path: str, what: str, body: dict | None = None):
        return _request(
            self.url, method, path, what=what, token=self.token, body=body, timeout=self.timeout
        )

    def get(self, path: str, what: str | None = None):
        """GET PATH (already quoted): the answer's `data`."""
        return self._call("GET", path, what or f"GET {escape(path)}")

    def patch(self, path: str, body: dict, what: str | None = None):
        """PATCH PATH with BODY: the answer's `data`."""
        return self._call("PATCH", path, what or f"PATCH {escape(path)}", body)

    def post(self, path: str, body: dict, what: str | None = None):
        """POST BODY to PATH: the answer's `data`."""
        return self._call("POST", path, what or f"POST {escape(path)}", body)

    def me(self) -> dict:
        """The logged-in user: id, plus email and names if the user may read them (else id only)."""
        data = self._call(
            "GET", "/users/me?fields=id,email,first_name,last_name", "reading your own user"
        )
        return data if isinstance(data, dict) else {}

    def create(self, collection: str, data: dict) -> dict:
        """Create an item in COLLECTION; the item as Directus stored it."""
        c = _segment(collection)
        created = self._call("POST", f"/items/{c}", f"creating an item in {escape(c)}", data)
        return created if isinstance(created, dict) else {}

    def read(self, collection: str, item_id: object, fields: str = "*") -> dict | None:
        """The item, or None when Directus does not show it (missing, or not readable)."""
        c, i = _segment(collection), _segment(item_id)
        f = quote(fields, safe="*,.")
        try:
            item = self._call("GET", f"/items/{c}/{i}?fields={f}", f"reading {escape(c)}/{i}")
        except DirectusRefused as exc:
            # Directus answers FORBIDDEN, not 404, for an item that does not exist.
            if exc.code in ("FORBIDDEN", "ROUTE_NOT_FOUND", "HTTP_403", "HTTP_404"):
                return None
            raise
        return item if isinstance(item, dict) else None

    def delete(self, collection: str, item_id: object) -> None:
        c, i = _segment(collection), _segment(item_id)
        self._call("DELETE", f"/items/{c}/{i}", f"deleting {escape(c)}/{i}")

    def logout(self) -> None:
        """End a session obtained by `login` (best effort: never raises)."""
        body = {"refresh_token": self.refresh_token, "mode": "json"}
        with contextlib.suppress(Exception):  # logging out must not hide what came before
            if self.refresh_token:
                _request(self.url, "POST", "/auth/logout", what="", body=body, timeout=self.timeout)


def login(
    url: str, email: str, password: str, otp: str | None = None, *, timeout: float = TIMEOUT_S
) -> Session:
    """Log in with e-mail and password (and the one-time password under two-factor)."""
    body = {"email": email, "password": password, "mode": "json"}
    if otp:
        body["otp"] = otp
    what, secrets = f"the login of {escape(email)}", (password, otp)
    data = _request(
        url, "POST", "/auth/login", what=what, body=body, timeout=timeout, secrets=secrets
    )
    if not isinstance(data, dict) or not data.get("access_token"):
        raise DirectusUnavailable(
            f"Directus at {escape(_base(url))} answered the login without an access token",
            hint="check that the URL is Directus's",
        )
    return Session(url, data["access_token"], data.get("refresh_token"), timeout)


def with_token(url: str, token: str, *, timeout: float = TIMEOUT_S) -> Session:
    """A session on a personal static token, checked by asking Directus who it belongs to."""
    session = Session(url, token, timeout=timeout)
    try:
        session.me()
    except DirectusRefused as exc:
        if exc.code not in ("INVALID_CREDENTIALS", "TOKEN_EXPIRED", "INVALID_TOKEN"):
            raise
        raise DirectusRefused(
            exc.message,
            code="INVALID_CREDENTIALS",
            hint="the token is not a Directus user's static token: copy it from your user "
            "page in Directus (Token field) and save the user",
        ) from None
    return session
