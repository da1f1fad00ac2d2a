"""The only way the app talks to Salesforce's REST API.

``get_client(workload=...)`` gives a client built on simple-salesforce in session mode with the
shared JWT token. Every call is tagged ``Sforce-Call-Options: client=flywheel`` (the listener
recognises the app's own writes by it), retried with backoff on 5xx, connection errors and
REQUEST_LIMIT_EXCEEDED, stopped by the circuit breaker, and counted per workload and endpoint.
A call that may already have been applied (a create whose connection broke mid-way) is never
resent. Writes go through sObject Collections and report a result per record.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlencode

import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceError as LibraryError
from simple_salesforce.exceptions import SalesforceExpiredSession
from urllib3.exceptions import MaxRetryError, NewConnectionError

from salesforce import auth, conf
from salesforce.auth import SalesforceAuthError, SalesforceError, SalesforceUnavailable
from salesforce.soql import in_queries
from salesforce.usage import breaker, recorder

__all__ = [
    "BatchInterrupted",
    "RecordResult",
    "SalesforceAuthError",
    "SalesforceClient",
    "SalesforceError",
    "SalesforceRequestError",
    "SalesforceUnavailable",
    "get_client",
]

logger = logging.getLogger(__name__)

CALL_OPTIONS = {"Sforce-Call-Options": "client=flywheel"}
NO_AUTO_ASSIGN = {"Sforce-Auto-Assign": "FALSE"}
COLLECTION_SIZE = 200
COMPOSITE_COLLECTIONS = 5  # sObject Collections or query subrequests one composite request may hold
EMAIL_BATCH = 100
MAX_BACKOFF_SECONDS = 30.0
RETRYABLE_STATUSES = frozenset({500, 502, 503, 504})
T = TypeVar("T")


@dataclass(frozen=True)
class RecordResult:
    """One record's outcome in a batched write; ``errors`` as Salesforce reports them."""

    id: str | None
    success: bool
    errors: list[dict] = field(default_factory=list)


class SalesforceRequestError(SalesforceError):
    """Salesforce rejected the request itself (bad query, unknown field...): do not retry."""

    def __init__(self, *, endpoint: str, status: int, errors: list) -> None:
        self.endpoint, self.status, self.errors = endpoint, status, errors
        first = errors[0] if errors and isinstance(errors[0], dict) else {}
        code = first.get("errorCode") or first.get("statusCode") or f"HTTP {status}"
        super().__init__(f"Salesforce {endpoint} call failed: {code}: {first.get('message', '')}")


class BatchInterrupted(SalesforceUnavailable):
    """Salesforce became unavailable part-way through a batched write. ``completed`` holds the
    results of the records that were sent (the first ones, in input order); the rest were not."""

    def __init__(self, message: str, *, completed: list[RecordResult]) -> None:
        super().__init__(message)
        self.completed = completed


class _Transient(Exception):
    """A failed attempt worth retrying, unless it may have been applied and retrying is unsafe."""

    def __init__(self, reason: str, *, maybe_applied: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.maybe_applied = maybe_applied


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int
    base_seconds: float

    @classmethod
    def from_settings(cls) -> RetryPolicy:
        return cls(attempts=conf.retry_attempts(), base_seconds=conf.retry_base_seconds())

    def delay(self, attempt: int, *, rng: Callable[[], float] = random.random) -> float:
        """Exponential backoff with jitter: between half and all of base * 2^(attempt-1)."""
        ceiling = min(MAX_BACKOFF_SECONDS, self.base_seconds * 2 ** (attempt - 1))
        return ceiling / 2 + rng() * ceiling / 2


def get_client(*, workload: str) -> SalesforceClient:
    """A client whose calls are accounted to ``workload``; it logs in on its first call."""
    return SalesforceClient(workload=workload)


class SalesforceClient:
    def __init__(
        self,
        *,
        workload: str,
        sleep: Callable[[float], None] = time.sleep,
        policy: RetryPolicy | None = None,
    ) -> None:
        self.workload = workload
        self._sleep = sleep
        self._policy = policy or RetryPolicy.from_settings()
        self._sf: Salesforce | None = None
        self._token: auth.Token | None = None

    def query_all(self, soql: str) -> list[dict]:
        """Every record the query matches (all pages), as REST returns them."""
        page = self._call("query", "GET", "query/", params={"q": soql})
        records = list(page["records"])
        while not page.get("done", True):
            page = self._call("query_more", "GET", self._relative(page["nextRecordsUrl"]))
            records += page["records"]
        return records

    def query_ids(self, template: str, ids: Sequence[str], *, chunk: int = 200) -> list[dict]:
        """Run ``template`` once per chunk of ``ids`` (``... WHERE Id IN ({ids})``)."""
        records: list[dict] = []
        for soql in in_queries(template, ids, chunk=chunk):
            records += self.query_all(soql)
        return records

    def query_all_many(self, queries: Sequence[str]) -> list[list[dict]]:
        """Every record of each query (in the order given), their pages read together: each
        composite call reads the next page of up to five queries. Salesforce counts a composite
        call as one API call, so four queries of up to five pages cost five calls, not twenty."""
        if len(queries) <= 1:
            return [self.query_all(soql) for soql in queries]
        base = f"/services/data/v{conf.connection().api_version}"
        records: list[list[dict]] = [[] for _ in queries]
        pending = {n: f"{base}/query/?{urlencode({'q': soql})}" for n, soql in enumerate(queries)}
        while pending:
            round_ = dict(list(pending.items())[:COMPOSITE_COLLECTIONS])
            body = {
                "compositeRequest": [
                    {"method": "GET", "url": url, "referenceId": f"q{n}"}
                    for n, url in round_.items()
                ]
            }
            reply = self._call("composite", "POST", "composite", json=body)
            for number, page in _composite_pages(reply, list(round_)):
                records[number] += page["records"]
                if page.get("done", True):
                    del pending[number]
                else:
                    pending[number] = page["nextRecordsUrl"]
        return records

    def query_ids_many(
        self, templates: Sequence[str], ids: Sequence[str], *, chunk: int = 200
    ) -> list[list[dict]]:
        """``query_ids`` for several templates over the same ids, read together."""
        soqls = [list(in_queries(template, ids, chunk=chunk)) for template in templates]
        pages = iter(self.query_all_many([soql for group in soqls for soql in group]))
        return [[row for _ in group for row in next(pages)] for group in soqls]

    def update_records(self, sobject: str, records: Sequence[dict]) -> list[RecordResult]:
        """Update; each record dict carries its ``Id``. Up to 200 records: one sObject
        Collections call. More: composite calls of up to five Collections subrequests each, so
        1,000 records cost one API call instead of five."""
        if len(records) <= COLLECTION_SIZE:
            return self._collection("PATCH", sobject, records, idempotent=True)
        return self._composite_update(sobject, records)

    def create_records(self, sobject: str, records: Sequence[dict]) -> list[RecordResult]:
        return self._collection("POST", sobject, records, idempotent=False)

    def delete_records(self, ids: Sequence[str]) -> list[RecordResult]:
        results: list[RecordResult] = []
        for chunk in _chunks(ids, COLLECTION_SIZE):
            params = {"ids": ",".join(chunk), "allOrNone": "false"}
            try:
                reply = self._call(
                    "composite/sobjects", "DELETE", "composite/sobjects", params=params
                )
            except SalesforceUnavailable as error:
                raise BatchInterrupted(str(error), completed=results) from None
            results += _record_results(reply, list(chunk))
        return results

    def send_email_simple(self, inputs: Sequence[dict]) -> list[dict]:
        """Send through the Simple Email Action; one result per input (``isSuccess``, ``errors``).

        Not retried once a request may have reached Salesforce, so no email goes out twice."""
        results: list[dict] = []
        for chunk in _chunks(inputs, EMAIL_BATCH):
            try:
                reply = self._call(
                    "actions/emailSimple",
                    "POST",
                    "actions/standard/emailSimple",
                    json={"inputs": list(chunk)},
                    idempotent=False,
                )
            except SalesforceRequestError as error:  # every input failed: still per-input results
                if not _is_action_results(error.errors, len(chunk)):
                    raise
                reply = error.errors
            if not _is_action_results(reply, len(chunk)):
                raise SalesforceRequestError(
                    endpoint="actions/emailSimple", status=200, errors=[{"message": str(reply)}]
                )
            results += reply
        return results

    def describe(self, sobject: str) -> dict:
        return self._call("describe", "GET", f"sobjects/{sobject}/describe")

    def limits(self) -> dict:
        return self._call("limits", "GET", "limits/")

    def tooling_query(self, soql: str) -> list[dict]:
        """The records of a Tooling API query (one page: setup objects are a handful of rows)."""
        return list(
            self._call("tooling_query", "GET", "tooling/query/", params={"q": soql})["records"]
        )

    def _collection(
        self, method: str, sobject: str, records: Sequence[dict], *, idempotent: bool
    ) -> list[RecordResult]:
        headers = NO_AUTO_ASSIGN if sobject == "Lead" else {}
        results: list[RecordResult] = []
        for chunk in _chunks(records, COLLECTION_SIZE):
            body = {
                "allOrNone": False,
                "records": [{"attributes": {"type": sobject}, **record} for record in chunk],
            }
            try:
                reply = self._call(
                    "composite/sobjects",
                    method,
                    "composite/sobjects",
                    json=body,
                    headers=headers,
                    idempotent=idempotent,
                )
            except SalesforceUnavailable as error:
                raise BatchInterrupted(str(error), completed=results) from None
            results += _record_results(reply, [record.get("Id") for record in chunk])
        return results

    def _composite_update(self, sobject: str, records: Sequence[dict]) -> list[RecordResult]:
        headers = NO_AUTO_ASSIGN if sobject == "Lead" else {}
        url = f"/services/data/v{conf.connection().api_version}/composite/sobjects"
        results: list[RecordResult] = []
        for group in _chunks(records, COLLECTION_SIZE * COMPOSITE_COLLECTIONS):
            chunks = list(_chunks(group, COLLECTION_SIZE))
            body = {
                "allOrNone": False,
                "compositeRequest": [
                    {
                        "method": "PATCH",
                        "url": url,
                        "referenceId": f"chunk{number}",
                        "body": {
                            "allOrNone": False,
                            "records": [{"attributes": {"type": sobject}, **r} for r in chunk],
                        },
                    }
                    for number, chunk in enumerate(chunks)
                ],
            }
            try:
                reply = self._call(
                    "composite", "POST", "composite", json=body, headers=headers, idempotent=True
                )
            except SalesforceUnavailable as error:
                raise BatchInterrupted(str(error), completed=results) from None
            results += _composite_results(reply, [[r.get("Id") for r in c] for c in chunks])
        return results

    def _call(
        self,
        endpoint: str,
        method: str,
        path: str,
        *,
        idempotent: bool = True,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> Any:
        """One logical call: retried with backoff, stopped by the breaker, counted."""
        attempt = 0
        while True:
            attempt += 1
            paused = breaker.blocked()
            if paused:
                raise SalesforceUnavailable(f"Salesforce calls are paused: {paused}")
            try:
                result = self._attempt(
                    method, path, headers={**CALL_OPTIONS, **(headers or {})}, **kwargs
                )
            except _Transient as failure:
                recorder.record(workload=self.workload, endpoint=endpoint, ok=False)
                breaker.record_failure(reason=f"{endpoint}: {failure.reason}.")
                self._back_off(endpoint, failure, attempt=attempt, idempotent=idempotent)
                continue
            except SalesforceRequestError:
                recorder.record(workload=self.workload, endpoint=endpoint, ok=False)
                breaker.record_success()  # Salesforce answered: it is up
                raise
            recorder.record(
                workload=self.workload, endpoint=endpoint, ok=True, limit=self._limit_info()
            )
            breaker.record_success()
            return result

    def _back_off(
        self, endpoint: str, failure: _Transient, *, attempt: int, idempotent: bool
    ) -> None:
        """Wait before the next attempt, or raise SalesforceUnavailable when there is none."""
        if failure.maybe_applied and not idempotent:
            raise SalesforceUnavailable(
                f"Salesforce {endpoint} failed ({failure.reason}); the request may have been "
                "applied, so it is not resent."
            )
        if attempt >= self._policy.attempts:
            raise SalesforceUnavailable(
                f"Salesforce {endpoint} failed {attempt} times ({failure.reason})."
            )
        delay = self._policy.delay(attempt)
        logger.info("Salesforce %s: %s; retry in %.2fs", endpoint, failure.reason, delay)
        self._sleep(delay)

    def _attempt(self, method: str, path: str, **kwargs: Any) -> Any:
        """Send once; on an expired session log in again and send once more."""
        try:
            return self._send(self._session(), method, path, **kwargs)
        except SalesforceExpiredSession:
            assert self._token is not None
            auth.invalidate_token(self._token)
        try:
            return self._send(self._session(), method, path, **kwargs)
        except SalesforceExpiredSession:
            raise SalesforceAuthError(
                "Salesforce rejected a session it had just issued.",
                hint="Check the integration user is active and has API access.",
            ) from None

    def _send(self, sf: Salesforce, method: str, path: str, **kwargs: Any) -> Any:
        try:
            return sf.restful(path, method=method, timeout=conf.http_timeout_seconds(), **kwargs)
        except SalesforceExpiredSession:
            raise
        except LibraryError as error:
            raise _classified(error) from None
        except requests.RequestException as error:
            raise _Transient(
                f"connection error ({type(error).__name__})", maybe_applied=not _never_sent(error)
            ) from None

    def _session(self) -> Salesforce:
        try:
            token = auth.get_token()
        except SalesforceUnavailable as error:
            raise _Transient(str(error)) from None
        if self._sf is None or token != self._token:
            self._sf = Salesforce(
                instance_url=token.instance_url,
                session_id=token.access_token,
                session=auth.http_session(),
                version=conf.connection().api_version,
                object_pairs_hook=dict,
            )
            self._token = token
        return self._sf

    def _relative(self, url: str) -> str:
        """``/services/data/vXX.X/query/01g...`` → ``query/01g...`` (relative to the base URL)."""
        prefix = f"/services/data/v{conf.connection().api_version}/"
        return url.split(prefix, 1)[1] if prefix in url else url.lstrip("/")

    def _limit_info(self) -> tuple[int, int] | None:
        usage = self._sf.api_usage.get("api-usage") if self._sf is not None else None
        return (usage.used, usage.total) if usage is not None else None


def _classified(error: LibraryError) -> Exception:
    content = error.content
    errors = content if isinstance(content, list) else [{"message": str(content)[:500]}]
    codes = {item.get("errorCode") for item in errors if isinstance(item, dict)}
    if error.status in RETRYABLE_STATUSES:
        return _Transient(f"HTTP {error.status} {', '.join(sorted(filter(None, codes)))}".strip())
    if "REQUEST_LIMIT_EXCEEDED" in codes:
        return _Transient("REQUEST_LIMIT_EXCEEDED: the org's API request limit is used up")
    return SalesforceRequestError(
        endpoint=error.resource_name or "REST", status=error.status, errors=errors
    )


def _never_sent(error: requests.RequestException) -> bool:
    """True when the connection could not even be opened (so nothing reached Salesforce)."""
    if isinstance(error, requests.exceptions.ConnectTimeout):
        return True
    cause = error.args[0] if error.args else None
    return isinstance(cause, MaxRetryError) and isinstance(cause.reason, NewConnectionError)


def _record_results(reply: object, ids: list[str | None]) -> list[RecordResult]:
    if not isinstance(reply, list) or len(reply) != len(ids):
        raise SalesforceRequestError(
            endpoint="composite/sobjects",
            status=200,
            errors=[{"message": f"expected {len(ids)} results, got {reply!r:.200}"}],
        )
    return [
        RecordResult(
            id=item.get("id") or record_id,
            success=bool(item.get("success")),
            errors=list(item.get("errors") or []),
        )
        for item, record_id in zip(reply, ids, strict=True)
    ]


def _composite_results(reply: object, chunks: list[list[str | None]]) -> list[RecordResult]:
    """Per-record results of a composite of Collections subrequests, in input order. A
    subrequest Salesforce refused as a whole fails each of its records with its errors."""
    answers = reply.get("compositeResponse") if isinstance(reply, dict) else None
    by_reference = {a.get("referenceId"): a for a in answers or [] if isinstance(a, dict)}
    results: list[RecordResult] = []
    for number, ids in enumerate(chunks):
        answer = by_reference.get(f"chunk{number}")
        if answer is None:
            raise SalesforceRequestError(
                endpoint="composite",
                status=200,
                errors=[{"message": f"no answer for subrequest chunk{number}: {reply!r:.200}"}],
            )
        if int(answer.get("httpStatusCode") or 0) >= 300:
            errors = [e for e in answer.get("body") or [] if isinstance(e, dict)]
            errors = errors or [{"message": f"HTTP {answer.get('httpStatusCode')}"}]
            results += [
                RecordResult(id=record_id, success=False, errors=errors) for record_id in ids
            ]
            continue
        results += _record_results(answer.get("body"), ids)
    return results


def _composite_pages(reply: object, numbers: list[int]) -> Iterator[tuple[int, dict]]:
    """(query number, page) for each query subrequest ``q<number>`` of a composite reply; a
    refused query raises its errors (a bad query is not retried)."""
    answers = reply.get("compositeResponse") if isinstance(reply, dict) else None
    by_reference = {a.get("referenceId"): a for a in answers or [] if isinstance(a, dict)}
    for number in numbers:
        answer = by_reference.get(f"q{number}") or {}
        status = int(answer.get("httpStatusCode") or 0)
        page = answer.get("body")
        if status >= 300 or not isinstance(page, dict) or not isinstance(page.get("records"), list):
            errors = page if isinstance(page, list) else [{"message": f"{answer!r:.300}"}]
            raise SalesforceRequestError(endpoint="composite", status=status, errors=errors)
        yield number, page


def _is_action_results(reply: object, size: int) -> bool:
    return (
        isinstance(reply, list)
        and len(reply) == size
        and all(isinstance(item, dict) and "isSuccess" in item for item in reply)
    )


def _chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
