"""The Flask application: factory, wiring of extensions and blueprints."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

from referral import config as config_module
from referral import schemas as _schemas  # noqa: F401 - marshmallow's messages, set before any schema


def create_app(overrides: Mapping[str, Any] | None = None) -> Flask:
    """Build the app from `REFERRAL_*` settings; `overrides` are for tests and commands."""
    settings = config_module.load()
    config_module.check_calendar()
    # the pages' assets (GOV.UK Frontend's pinned release among them), served at /static/
    app = Flask(__name__, instance_path=str(settings.instance_path), static_folder="web/static")
    app.config.update(settings.flask_config())
    if overrides:
        app.config.update(overrides)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    hops = int(app.config.get("REFERRAL_TRUSTED_PROXIES", 0))
    if hops:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]

    from referral import auth, db, errors, security, throttle
    from referral.api import init_app as init_api
    from referral.web import init_app as init_web

    db.init_app(app)
    errors.init_app(app)
    security.init_app(app)
    throttle.init_app(app)
    auth.init_app(app)
    init_api(app)
    init_web(app)
    return app
