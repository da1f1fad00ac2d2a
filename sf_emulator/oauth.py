"""``POST /services/oauth2/token``: the OAuth 2.0 JWT bearer flow, as Salesforce answers it."""

from __future__ import annotations

import jwt
from aiohttp import web

from sf_emulator.org import Org

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
_CLOCK_SKEW_SECONDS = 5


class OAuthError(Exception):
    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description


def setup(app: web.Application) -> None:
    app.router.add_post("/services/oauth2/token", token)


async def token(request: web.Request) -> web.Response:
    org: Org = request.app["org"]
    form = await request.post()
    try:
        user_id = _verify(org, grant_type=form.get("grant_type"), assertion=form.get("assertion"))
    except OAuthError as failure:
        return web.json_response(
            {"error": failure.error, "error_description": failure.description}, status=400
        )
    session = org.sessions.issue(user_id=user_id)
    request["user_id"] = user_id
    return web.json_response(
        {
            "access_token": session.token,
            "scope": "api",
            "instance_url": org.instance_url,
            "id": f"{org.login_url}/id/{org.org_id}/{user_id}",
            "token_type": "Bearer",
            "issued_at": str(int(session.issued_at.timestamp() * 1000)),
        }
    )


def _verify(org: Org, *, grant_type: object, assertion: object) -> str:
    """The id of the user the assertion logs in, or OAuthError with Salesforce's wording."""
    if grant_type != JWT_GRANT:
        raise OAuthError("unsupported_grant_type", "grant type not supported")
    if not isinstance(assertion, str) or not assertion:
        raise OAuthError("invalid_grant", "invalid assertion")
    try:
        header = jwt.get_unverified_header(assertion)
        claims = jwt.decode(assertion, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise OAuthError("invalid_grant", "invalid assertion") from None
    if header.get("alg") != "RS256" or not isinstance(claims, dict):
        raise OAuthError("invalid_grant", "invalid assertion")
    if claims.get("iss") != org.credentials.consumer_key:
        raise OAuthError("invalid_client_id", "client identifier invalid")
    try:
        jwt.decode(
            assertion,
            org.credentials.app_public_key_pem(),
            algorithms=["RS256"],
            options={"verify_exp": False, "verify_aud": False, "verify_iss": False},
        )
    except jwt.PyJWTError:
        raise OAuthError("invalid_grant", "invalid assertion") from None
    if not _audience_ok(claims.get("aud"), org.login_url):
        raise OAuthError("invalid_grant", "audience is invalid")
    if not _expiry_ok(claims.get("exp"), now=org.clock().timestamp()):
        raise OAuthError("invalid_grant", "expired authorization code")
    user = org.user_by_username(str(claims.get("sub") or ""))
    if user is None or not user["IsActive"]:
        raise OAuthError("invalid_grant", "user hasn't approved this consumer")
    return str(user["Id"])


def _audience_ok(aud: object, login_url: str) -> bool:
    wanted = login_url.rstrip("/")
    candidates = aud if isinstance(aud, list) else [aud]
    return any(isinstance(item, str) and item.rstrip("/") == wanted for item in candidates)


def _expiry_ok(exp: object, *, now: float) -> bool:
    """``exp`` is epoch seconds (number or numeric string) still in the future."""
    try:
        seconds = float(exp)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False
    return seconds + _CLOCK_SKEW_SECONDS > now
