"""One vocabulary of errors, mapped to HTTP in one place (app/web/errors.py).

HuiyinError
├── Malformed           400  (a request not even read: JSON nested too deep)
├── NotFound            404  (also what an out-of-scope case answers: its existence is not told)
├── NotPermitted        403
├── NotSignedIn         401
├── Conflict            409  (a task already handled, a stale form)
├── Invalid             422  (fields → Chinese messages)
├── Locked              423  (account locked)
└── RateLimited         429  (too many requests; carries the seconds for Retry-After)
"""

from __future__ import annotations

from typing import Any


class HuiyinError(Exception):
    status = 400
    code = "error"

    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}


class NotFound(HuiyinError):
    status, code = 404, "not_found"


class CaseOutOfScope(NotFound):
    """A case that exists but lies outside the reader's scope: answered exactly as a missing one (no existence
    oracle), and the attempt is audited by the web layer (fault table row 26)."""

    def __init__(self, case_id: int) -> None:
        super().__init__("诉求件不存在")
        self.case_id = case_id


class NotPermitted(HuiyinError):
    status, code = 403, "not_permitted"


class NotSignedIn(HuiyinError):
    status, code = 401, "not_signed_in"


class Conflict(HuiyinError):
    status, code = 409, "conflict"


class Invalid(HuiyinError):
    status, code = 422, "invalid"


class Locked(HuiyinError):
    status, code = 423, "locked"


class Malformed(HuiyinError):
    """A request the server will not even read (JSON nested too deep)."""

    status, code = 400, "malformed"


class RateLimited(HuiyinError):
    status, code = 429, "rate_limited"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after
