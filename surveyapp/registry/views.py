"""Registry pages: the table of entries with search and filters, institution pages, exports.

Public until staff accounts arrive; personal data is shown only where consent was recorded.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    send_file,
    stream_with_context,
    url_for,
)
from flask_babel import get_locale
from flask_login import current_user
from markupsafe import Markup, escape
from sqlalchemy import select

from surveyapp.auth.access import is_staff
from surveyapp.definitions import VOCABULARIES, FieldDefinition, registry_fields, table1
from surveyapp.definitions.answers import render
from surveyapp.extensions import db
from surveyapp.history.attribution import author
from surveyapp.history.service import audit
from surveyapp.i18n import country_label, gettext
from surveyapp.registry import export, generic, service, values
from surveyapp.registry.forms import RegistrySearchForm, options, search_form
from surveyapp.registry.merging import survivor
from surveyapp.registry.models import Entry, Institution
from surveyapp.vocabulary import Answer, AtmpType, country_name

blueprint = Blueprint("registry", __name__)


@blueprint.app_template_filter("website_link")
def website_link(website: str | None) -> Markup:
    """A stored website as every page shows it: a link only where
    :func:`values.website_link` gives an http(s) address (a bare host name as https),
    plain text otherwise, so a stored ``javascript:`` value is never a link. The one
    place a template builds a website's ``href``: ``{{ institution.website|website_link }}``."""
    if not website:
        return Markup("")
    href = values.website_link(website)
    if href is None:
        return escape(website)
    return Markup('<a href="{}" rel="nofollow noopener">{}</a>').format(href, website)


@blueprint.app_template_filter("readable")
def readable(text: str | None, field: FieldDefinition | str) -> str:
    """A Table 1 field's shown text in the reader's language where it only names
    controlled values (a country, ATMP types, yes or no): "Czech Republic" reads "Cechia"
    to an Italian reader; English readers see the text as written. Any other text (free
    text, or a value with words of its own such as "Gene therapy (CAR-T)") is shown as
    written: the registry stores texts as given, and exports keep them so. ``field`` may
    be a field's key (a change in the history); other fields' texts are as written."""
    if isinstance(field, str):
        found = next((f for f in table1().fields if f.key == field), None)
        if found is None:
            return text or ""
        field = found
    if not text or field.type not in ("country", "atmp_types", "answer"):
        return text or ""
    if str(get_locale() or "en") == "en":  # the texts' own language: as written
        return text
    reading = values.read(field, text)
    if reading.problem or reading.value is None:
        return text
    if field.type == "country":
        return str(country_label(reading.value, country_name(reading.value)))
    if field.type == "answer":
        return gettext(Answer(reading.value).label)
    if not values.names_only_atmp_types(text):
        return text
    return ", ".join(gettext(AtmpType(code).label) for code in reading.value["types"])


def _search_form() -> tuple[RegistrySearchForm, service.EntryFilters, dict[str, str], list[str]]:
    form = search_form(request.args)
    codes = db.session.scalars(
        select(Institution.country_code).where(Institution.country_code.is_not(None)).distinct()
    )
    form.country.choices = options(
        sorted(((c, country_label(c, country_name(c))) for c in codes), key=lambda p: str(p[1]))
    )
    errors: list[str] = []
    if request.args and not form.validate():
        errors = [
            f"{getattr(form, name).label.text}: {'; '.join(messages)}"
            for name, messages in form.errors.items()
        ]

    def valid(name: str) -> Any:
        field = getattr(form, name)
        return field.default if name in form.errors else field.data

    filters = service.EntryFilters(
        q=valid("q") or "",
        disease=valid("disease") or "",
        country=valid("country") or "",
        atmp_type=valid("atmp_type") or "",
        contract_research=valid("contract_research") or "",
        routine_application=valid("routine_application") or "",
        needs_curation=is_staff() and bool(valid("needs_curation")),
        sort=valid("sort") or "row",
    )
    answers = {key: valid(key) or "" for key in form.answer_filters}
    return form, filters, answers, errors


@blueprint.get("/")
def index() -> str:
    """The registry as a table like Table 1, searchable, filterable, sortable, paged."""
    form, filters, answers, errors = _search_form()
    page_number = form.page.data if "page" not in form.errors and form.page.data else 1
    page = generic.search(
        filters, answers, page=page_number, per_page=current_app.config["REGISTRY_PAGE_SIZE"]
    )
    records = export.page_records(page.items, staff=is_staff())
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template(
        "registry/index.html",
        form=form,
        page=page,
        records=records,
        errors=errors,
        definition=table1(),
        args=args,
    )


def _shown_answers(owner: Institution | Entry, level: str) -> list[tuple[str, str]]:
    """(label, text in the page's language) of each public generic field of this level that
    has an answer; personal ones are never shown here. Labels of vocabularies kept in
    code are translated by the catalogue, those of data vocabularies by their file."""
    language = str(get_locale() or "en")
    shown = []
    for field in generic.generic_fields():
        text = render(field, (owner.answers or {}).get(field.key), language)
        if field.type in ("yes_no_unknown", "choice") and field.vocabulary in VOCABULARIES:
            text = gettext(text) if text else text
        if field.level == level and text:
            shown.append((field.heading, text))
    return shown


@blueprint.get("/institutions/<int:institution_id>")
def institution(institution_id: int) -> Any:
    """An institution with its entries, each value's printed text, flags and history."""
    found = service.get_institution(institution_id)
    if found is None:
        abort(404, description=f"No institution has id {institution_id}.")
    if found.replaced_by_id is not None:  # merged: its address leads to the survivor for good
        return redirect(url_for(".institution", institution_id=survivor(found).id), 301)
    staff = is_staff()
    entries = []
    for entry in found.entries:
        flags = service.open_flags(entry) if staff else []
        record = export.entry_record(
            entry, include_personal=staff, needs_curation=bool(flags) if staff else None
        )
        entries.append(
            {
                "entry": entry,
                "record": record,
                "flags": flags,
                "history": service.history(entry),
                "answers": _shown_answers(entry, "entry"),
            }
        )
    return render_template(
        "registry/institution.html",
        institution=found,
        entries=entries,
        history=service.history(found),
        answers=_shown_answers(found, "institution"),
        definition=table1(),
        country_name=country_name,
        country_label=country_label,
        labels={f.key: f.heading for f in registry_fields()},
        staff=staff,
        author=lambda version: author(version, staff=staff),
        personal_keys={f.key for f in registry_fields() if f.personal},
    )


@blueprint.get("/registry/export.<fmt>")
def export_registry(fmt: str) -> Response:
    """The entries matching the current filters as CSV or JSON, streamed as they are read,
    without personal data; XLSX is the whole public registry's snapshot, built by
    ``flask registry build-xlsx`` and served with the time it was built.

    Staff export with contacts from the staff registry pages.
    """
    if fmt not in ("csv", "xlsx", "json"):
        abort(404, description=gettext("Exports are available as .csv, .xlsx and .json."))
    built = export.snapshot_built(include_personal=False) if fmt == "xlsx" else None
    if fmt == "xlsx" and built is None:
        abort(
            404,
            description=gettext(
                "The XLSX file of the registry is built nightly (by %(command)s) and has not "
                "been built yet. The CSV and JSON downloads are available now.",
                command="flask registry build-xlsx",
            ),
        )
    _form, filters, answers, _errors = _search_form()
    validators = _export_validators(fmt) if built is None else None
    if validators is not None:
        unchanged = Response(status=200)
        unchanged.set_etag(validators[0], weak=True)
        unchanged.last_modified = validators[1]
        unchanged.cache_control.no_cache = True
        if unchanged.make_conditional(request).status_code == 304:
            return unchanged  # the client's copy is current: nothing sent, nothing exported
    actor = current_user.email if current_user.is_authenticated else "anonymous"
    db.session.commit()  # end the read, so the audit event starts a writing transaction
    audit(
        "registry.export",
        actor,
        remote_addr=request.remote_addr,
        format=fmt,
        include_personal=False,
    )
    db.session.commit()
    if built is not None:
        return send_file(
            export.snapshot_path(include_personal=False),
            mimetype=export.XLSX_MIMETYPE,
            as_attachment=True,
            download_name=f"atmp-registry-{built.date().isoformat()}.xlsx",
            last_modified=built,
            max_age=0,
        )
    records = export.export_records(
        filters,
        staff=False,
        answers=answers,
        chunk_size=current_app.config.get("EXPORT_CHUNK_SIZE", export.CHUNK_SIZE),
    )
    filename = f"atmp-registry-{date.today().isoformat()}.{fmt}"  # noqa: DTZ011 - a file name
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    if fmt == "csv":
        body = stream_with_context(export.to_csv(records, include_personal=False))
        response = Response(body, mimetype="text/csv", headers=headers)
    else:
        body = stream_with_context(export.to_json(records))
        response = Response(body, mimetype="application/json", headers=headers)
    response.set_etag(validators[0], weak=True)  # type: ignore[index]
    response.last_modified = validators[1]  # type: ignore[index]
    response.cache_control.no_cache = True  # reuse a copy only after asking (304)
    return response


def _export_validators(fmt: str) -> tuple[str, datetime | None]:
    """A CSV or JSON export's ETag and Last-Modified, known before a row is read: what the
    export's bytes follow from (format, filters, the columns the definitions and the code
    give it, and the registry's state: the newest change, how many rows, the sum of their
    version counters, which any committed change moves even when its timestamp is older
    than one already seen). Weak, since the body itself is never hashed."""
    changed = service.registry_changed_at()
    query = sorted((key, value) for key, value in request.args.items(multi=True) if key != "page")
    state = [m.isoformat() if m else None for m in changed] + list(service.registry_counters())
    basis = json.dumps([fmt, query, export.export_columns(False), state])
    known = [moment for moment in changed if moment is not None]
    return hashlib.sha256(basis.encode()).hexdigest(), max(known) if known else None


@blueprint.app_context_processor
def _registry_links() -> dict[str, Any]:
    def export_url(fmt: str) -> str:
        args = {k: v for k, v in request.args.items() if k != "page" and v}
        return url_for("registry.export_registry", fmt=fmt, **args)

    def xlsx_built() -> datetime | None:
        """When the public XLSX snapshot the XLSX link serves was built, if it was."""
        return export.snapshot_built(include_personal=False)

    return {"export_url": export_url, "xlsx_built": xlsx_built}
