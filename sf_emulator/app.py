"""The aiohttp application: OAuth, REST, control API and the optional part-2 features."""

from __future__ import annotations

import datetime as dt
import importlib
import logging
import ssl
from pathlib import Path

from aiohttp import web

from sf_emulator import control, oauth, rest
from sf_emulator.org import DEFAULT_DAILY_LIMIT, DEFAULT_SESSION_TIMEOUT, Org

log = logging.getLogger(__name__)
ORG_KEY = web.AppKey("org", Org)
_OPTIONAL_FEATURES = ("sf_emulator.cdc", "sf_emulator.traffic", "sf_emulator.anthropic_fake")
CONNECTION_ENV = "connection.env"


def build_app(
    *,
    state_dir: Path,
    port: int,
    seed: int = 0,
    session_timeout: dt.timedelta = DEFAULT_SESSION_TIMEOUT,
    daily_api_limit: int = DEFAULT_DAILY_LIMIT,
    api_latency_ms: int = 0,
) -> web.Application:
    """An application serving one org from ``state_dir`` at https://127.0.0.1:``port``."""
    base_url = f"https://127.0.0.1:{port}"
    org = Org(
        state_dir=Path(state_dir).resolve(),
        seed=seed,
        session_timeout=session_timeout,
        daily_api_limit=daily_api_limit,
        api_latency_ms=api_latency_ms,
        login_url=base_url,
        instance_url=base_url,
    )
    org.connection_env = {
        "SF_LOGIN_URL": base_url,
        "SF_CONSUMER_KEY": org.credentials.consumer_key,
        "SF_USERNAME": org.integration_user["username"],
        "SF_PRIVATE_KEY_FILE": str(org.credentials.app_private_key_path),
        "SF_CA_BUNDLE": str(org.credentials.ca_path),
    }
    app = web.Application(
        middlewares=[control.loopback_only, rest.salesforce_middleware],
        client_max_size=32 * 1024 * 1024,
    )
    app[ORG_KEY] = org
    app["org"] = org
    oauth.setup(app)
    rest.setup(app)
    control.setup(app)
    for module_name in _OPTIONAL_FEATURES:
        _install_optional(module_name, app, org)
    app.on_cleanup.append(_close_store)
    write_connection_env(org)
    return app


def _install_optional(module_name: str, app: web.Application, org: Org) -> None:
    """Install a part-2 feature when its module imports; the core serves without it otherwise."""
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        if not (isinstance(error, ModuleNotFoundError) and error.name == module_name):
            log.warning("%s is not installed: it failed to import", module_name, exc_info=True)
        return
    module.install(app, org)


def write_connection_env(org: Org) -> Path:
    path = org.state_dir / CONNECTION_ENV
    path.write_text("".join(f"{key}={value}\n" for key, value in org.connection_env.items()))
    return path


def server_ssl_context(org: Org) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(org.credentials.server_cert_path, org.credentials.server_key_path)
    return context


async def _close_store(app: web.Application) -> None:
    app[ORG_KEY].store.close()
