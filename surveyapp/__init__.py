"""surveyapp: completes the European registry of ATMP facilities (RESTORE D1.4 Table 1).

``create_app`` builds the Flask application: settings from :mod:`config`, extensions bound
once, one blueprint per area.
"""

from __future__ import annotations

import gc
import json
import os
from typing import Any

from flask import Flask, abort, redirect, render_template, request, url_for
from werkzeug.middleware.proxy_fix import ProxyFix

import config as settings
from surveyapp import backup, definitions, i18n, logs
from surveyapp import vocabulary as vocabulary_module
from surveyapp.auth import access
from surveyapp.database import configure_sqlite, render_migration_item
from surveyapp.extensions import csrf, db, limiter, migrate
from surveyapp.i18n import N_, gettext
from surveyapp.paths import MIGRATIONS_DIR, STATIC_DIR, TEMPLATES_DIR
from surveyapp.routing import IdConverter
from surveyapp.text_input import TextRequest
from surveyapp.vocabulary import InvitationStatus, Role


def _json_dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def create_app(config: str | type[settings.Config] | None = None) -> Flask:
    """Build the application for a config class or name (default: $SURVEYAPP_CONFIG)."""
    if config is None or isinstance(config, str):
        name = config or os.environ.get("SURVEYAPP_CONFIG", "development")
        try:
            config = settings.CONFIGS[name]
        except KeyError:
            raise RuntimeError(
                f"unknown configuration {name!r}; use one of {sorted(settings.CONFIGS)}"
            ) from None
    if hasattr(config, "check"):
        config.check()

    app = Flask(
        __name__,
        instance_path=str(settings.INSTANCE_DIR),
        template_folder=str(TEMPLATES_DIR),
        static_folder=str(STATIC_DIR),
    )
    app.request_class = TextRequest
    app.config.from_object(config)
    if app.config["TRUSTED_PROXIES"]:
        proxies = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)  # type: ignore[method-assign]
    app.url_map.converters["int"] = IdConverter
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {
        **app.config.get("SQLALCHEMY_ENGINE_OPTIONS", {}),
        "json_serializer": _json_dumps,
    }
    if str(app.config["SQLALCHEMY_DATABASE_URI"]).startswith("postgresql"):
        # PostgreSQL's JIT compiler starts on a plan's estimated cost, and a set-returning
        # JSON function is estimated at 100 rows a call: the statistics' one pass over the
        # answers spent 150-300 ms compiling for 20 ms of work. Requests here are short.
        options = app.config["SQLALCHEMY_ENGINE_OPTIONS"]
        connect_args = options.get("connect_args", {})
        options["connect_args"] = {"options": "-c jit=off", **connect_args}
    os.makedirs(app.instance_path, exist_ok=True)

    db.init_app(app)
    migrate.init_app(
        app,
        db,
        directory=str(MIGRATIONS_DIR),
        render_as_batch=True,
        compare_type=True,
        render_item=render_migration_item,
    )
    csrf.init_app(app)
    limiter.init_app(app)
    i18n.init_app(app)
    access.init_app(app)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            configure_sqlite(db.engine, app.config["SQLITE_BUSY_TIMEOUT_MS"])

    definitions.use_directories(app.config["QUESTIONNAIRE_DIRS"])
    for found in definitions.available():
        definitions.load_definition(*found)  # a broken definition stops the app at start
    _register_blueprints(app)
    _register_errors(app)
    _register_security_headers(app)
    _refuse_nul_characters(app)
    logs.install()
    # What is built by now (modules, definitions, the app) lives as long as the process:
    # frozen, the collector stops walking it on each full collection, which a long export
    # (100,000 entries) triggered often enough to take a fifth of its time.
    gc.freeze()
    return app


CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


def _refuse_nul_characters(app: Flask) -> None:
    """Refuse requests whose text carries NUL characters: no one types them, and the
    database cannot store them (PostgreSQL text), so they would end as a server error.
    Every value of a repeated field counts, and so does an uploaded file's name, which no
    file system accepts with a NUL (saving the upload would fail)."""

    @app.before_request
    def _no_nul() -> None:
        values = [
            *(value for _key, value in request.args.items(multi=True)),
            *(value for _key, value in request.form.items(multi=True)),
            *(upload.filename or "" for _key, upload in request.files.items(multi=True)),
            request.path,
        ]
        if any("\x00" in value for value in values):
            abort(400, description="The request contains a NUL character, which text cannot hold.")


def _register_security_headers(app: Flask) -> None:
    """Headers on every response: nothing inline or from elsewhere may run, no framing,
    no MIME sniffing, referrers cut to the origin (capability links send none), and HSTS
    when the site is served over HTTPS in production."""

    @app.after_request
    def _security_headers(response: Any) -> Any:
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        headers.setdefault("X-Frame-Options", "DENY")
        if app.config.get("HSTS_SECONDS"):
            headers.setdefault("Strict-Transport-Security", f"max-age={app.config['HSTS_SECONDS']}")
        return response


def _register_blueprints(app: Flask) -> None:
    from surveyapp.api.views import blueprint as api
    from surveyapp.auth import admin_views
    from surveyapp.auth import views as auth_views
    from surveyapp.auth.audit_views import blueprint as audit_log
    from surveyapp.auth.cli import users_cli
    from surveyapp.campaigns import emails, returned_mail
    from surveyapp.campaigns import views as campaign_views
    from surveyapp.campaigns.cli import campaigns_cli, contacts_cli
    from surveyapp.dashboard import public_views as statistics_views
    from surveyapp.dashboard import views as dashboard_views
    from surveyapp.definitions.cli import questionnaire_cli
    from surveyapp.mail.cli import BETWEEN_SENDS, mail_cli
    from surveyapp.network import planner_views, readiness_views
    from surveyapp.network.cli import network_cli
    from surveyapp.people.cli import people_cli
    from surveyapp.people.views import blueprints as people_blueprints
    from surveyapp.questionnaire import cli as questionnaire_commands  # noqa: F401 (adds commands)
    from surveyapp.questionnaire import coordinator_views, public_views
    from surveyapp.questionnaire import emails as questionnaire_emails
    from surveyapp.questionnaire import staff_views as questionnaire_staff
    from surveyapp.registry import curation_views, identifier_views, staff_views
    from surveyapp.registry.cli import registry_cli
    from surveyapp.registry.views import blueprint as registry
    from surveyapp.registry.vocabulary_cli import vocabulary_cli
    from surveyapp.releases import cli as release_commands  # noqa: F401 (adds commands)
    from surveyapp.releases import staff_views as release_staff
    from surveyapp.releases import views as release_views
    from surveyapp.respondent import link_views, questionnaire_views
    from surveyapp.review import emails as review_emails
    from surveyapp.review import views as review_views
    from surveyapp.review.cli import review_cli

    for blueprint in (
        registry,
        identifier_views.blueprint,
        release_views.blueprint,
        release_staff.blueprint,
        auth_views.blueprint,
        auth_views.account,
        admin_views.blueprint,
        audit_log,
        staff_views.blueprint,
        staff_views.imports,
        curation_views.blueprint,
        review_views.blueprint,
        statistics_views.blueprint,
        dashboard_views.coverage,
        dashboard_views.response_rates,
        campaign_views.contacts,
        campaign_views.campaigns,
        link_views.blueprint,
        questionnaire_views.blueprint,
        public_views.blueprint,
        questionnaire_staff.blueprint,
        coordinator_views.blueprint,
        readiness_views.blueprint,
        planner_views.blueprint,
        *people_blueprints,
    ):
        app.register_blueprint(blueprint)
    app.register_blueprint(api, url_prefix="/api/v1")
    app.cli.add_command(registry_cli)
    for command in (
        users_cli,
        contacts_cli,
        campaigns_cli,
        mail_cli,
        review_cli,
        questionnaire_cli,
        vocabulary_cli,
        network_cli,
        people_cli,
        backup.backup_command,
        backup.restore_command,
    ):
        app.cli.add_command(command)
    emails.register_deliveries()
    questionnaire_emails.register_deliveries()
    review_emails.register_deliveries()
    if app.config.get("MAILBOX_POLL_SECONDS"):
        # The mail worker reads the return mailbox between sends.
        app.extensions[BETWEEN_SENDS] = [
            returned_mail.ScheduledPoll(float(app.config["MAILBOX_POLL_SECONDS"]))
        ]

    @app.get("/robots.txt")
    def robots() -> Any:
        """Keep personal invitation links out of search engines."""
        return app.response_class(
            "User-agent: *\nDisallow: /i/\nDisallow: /account/\n"
            "Disallow: /staff/\nDisallow: /admin/\n",
            mimetype="text/plain",
        )

    @app.get("/favicon.ico")
    def favicon() -> Any:
        """Clients that ask for /favicon.ico without reading the page get the page's icon."""
        return redirect(url_for("static", filename="favicon.svg"), code=301)

    @app.template_filter("label")
    def _label(value: str | None, vocabulary: str) -> str:
        """The human label of a stored vocabulary value, e.g. {{ t|label("AtmpType") }}."""
        if not value:
            return ""
        return getattr(vocabulary_module, vocabulary)(value).label

    @app.context_processor
    def _navigation() -> dict[str, Any]:
        return {"Role": Role, "Status": InvitationStatus}


# Error pages in the reader's language: a title and what to do, per status code.
ERROR_TEXTS = {
    400: (
        N_("Bad request"),
        N_("The request could not be understood. Please go back and try again."),
    ),
    403: (N_("Forbidden"), N_("You do not have access to this page.")),
    404: (
        N_("Page not found"),
        N_("There is no page at this address. It may have moved, or the link may be mistyped."),
    ),
    405: (N_("Not allowed"), N_("This page cannot be used this way.")),
    410: (N_("No longer available"), N_("This page is no longer available.")),
    413: (N_("Too large"), N_("What was sent is too large.")),
    429: (
        N_("Too many requests"),
        N_("Too many requests in a short time. Please wait a moment and try again."),
    ),
    500: (N_("Something went wrong"), N_("An error occurred on our side. Please try again later.")),
}


def _register_errors(app: Flask) -> None:
    from werkzeug.exceptions import HTTPException

    from surveyapp.api.views import is_api_request, problem

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> Any:
        if is_api_request():
            return problem(error.code or 500, error.description or error.name)
        # Werkzeug's own words are English; a description the app gave is already in the
        # reader's language.
        title, explanation = ERROR_TEXTS.get(error.code or 500, (error.name, None))
        own = error.description if error.description != type(error).description else None
        return render_template(
            "error.html",
            error=error,
            title=gettext(title),
            explanation=own or (gettext(explanation) if explanation else error.description),
        ), error.code
