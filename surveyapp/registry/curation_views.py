"""Curators' direct work on the registry: edit an entry or institution, resolve curation
flags, read the full history and restore an earlier version.

Every change goes through the versioned path of :mod:`surveyapp.registry.service`, so it
shows in the history and can itself be undone. Curators and admins only, declared once.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError
from wtforms import BooleanField, HiddenField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from surveyapp.auth.access import restrict
from surveyapp.definitions import FieldDefinition, answers, table1
from surveyapp.definitions.vocabularies import choices
from surveyapp.extensions import db
from surveyapp.history.service import Provenance, audit
from surveyapp.i18n import gettext as _
from surveyapp.i18n import lazy_gettext as _l
from surveyapp.registry import service
from surveyapp.registry.identifiers import normalise
from surveyapp.registry.merging import MergeError, merge_institutions
from surveyapp.registry.models import CurationFlag, Entry, Institution
from surveyapp.vocabulary import ChangeSource, Role

blueprint = Blueprint("registry_curation", __name__, url_prefix="/staff/registry/curate")
restrict(blueprint, [Role.ADMIN, Role.CURATOR])
KINDS = {"entry": Entry, "institution": Institution}


class RowVersionForm(FlaskForm):
    """A POST that changes a target carries the row version its page showed."""

    row_version = HiddenField(validators=[DataRequired()])

    def seen(self) -> int:
        """The row version as a number (-1 when damaged, which always conflicts)."""
        raw = str(self.row_version.data or "")
        return int(raw) if raw.isdigit() else -1


class EditForm(RowVersionForm):
    """The fixed part of the edit form; one text field per Table 1 field is added."""

    comment = StringField(_l("Why (kept in the history)"), validators=[Length(max=2000)])
    contact_public = BooleanField(_l("Show the contact publicly (consent recorded)"))


class MergeForm(FlaskForm):
    """Which institution to retire into the one whose page this is."""

    other = StringField(
        _l("Institution to merge into this one (its number or permanent identifier)"),
        validators=[DataRequired(), Length(max=40)],
    )
    confirm = HiddenField()


def _target(kind: str, target_id: int) -> service.Target:
    model = KINDS.get(kind)
    target = db.session.get(model, target_id) if model else None
    if target is None:
        abort(404, description=_("Nothing to curate has this address."))
    return target


def _institution_id(target: service.Target) -> int:
    return target.id if isinstance(target, Institution) else target.institution_id


def _edit_form(target: service.Target, **kwargs: Any) -> EditForm:
    class Form(EditForm):
        pass

    for definition in service.editable_fields(target):
        multiline = definition.type in ("term_list", "text_list", "long_text")
        field_class = TextAreaField if multiline else StringField
        setattr(
            Form,
            definition.key,
            field_class(_l(definition.heading), validators=[Length(max=5000)]),
        )
    return Form(**kwargs)


@blueprint.route("/<kind>/<int:target_id>/edit", methods=["GET", "POST"])
def edit(kind: str, target_id: int) -> Any:
    """Edit an entry's or institution's fields as text, with its open flags beside them."""
    target = _target(kind, target_id)
    form = _edit_form(target)
    status = 200
    if request.method == "GET":
        form.row_version.data = str(target.row_version)
        for definition in service.editable_fields(target):
            form[definition.key].data = service.edit_text(target, definition.key)
        if isinstance(target, Entry):
            form.contact_public.data = target.contact_public
    elif form.validate_on_submit():
        typed = {d.key: form[d.key].data or "" for d in service.editable_fields(target)}
        try:
            version = service.staff_edit(
                target,
                typed,
                actor=current_user.email,
                seen_row_version=form.seen(),
                comment=form.comment.data or "",
            )
            if (
                isinstance(target, Entry)
                and bool(form.contact_public.data) != target.contact_public
            ):
                provenance = Provenance(ChangeSource.STAFF_EDIT, current_user.email)
                version = (
                    service.set_contact_public(target, bool(form.contact_public.data), provenance)
                    or version
                )
            if version is not None:
                audit(
                    "registry.edit",
                    current_user.email,
                    target_type=kind,
                    target_id=target.id,
                    version=version.number,
                    fields=[c.field for c in version.changes],
                )
            db.session.commit()
        except service.StaleTarget as exc:
            db.session.rollback()
            return _conflict(kind, target_id, exc.seen_row_version)
        except StaleDataError:
            db.session.rollback()
            return _conflict(kind, target_id, form.seen())
        except service.FieldProblems as exc:
            db.session.rollback()
            for key, problem in exc.problems.items():
                form[key].errors = [problem]
            status = 400
        else:
            flash(_("Saved as a new version.") if version else _("Nothing was changed."), "success")
            return redirect(url_for("registry.institution", institution_id=_institution_id(target)))
    else:
        status = 400
    return render_template(
        "registry/edit.html",
        kind=kind,
        target=target,
        form=form,
        fields=service.editable_fields(target),
        hints={f.key: _hint(f) for f in service.editable_fields(target) if answers.is_generic(f)},
        flags=_flags(target),
        flag_form=RowVersionForm(row_version="0"),
    ), status


def _hint(field: FieldDefinition) -> str:
    """How to type a generic field's value so that it reads like an import."""
    match field.type:
        case "integer" | "decimal":
            hint = _("A whole number") if field.type == "integer" else _("A number")
            bounds = [
                _("at least %(min)s", min=_number(field.min)) if field.min is not None else "",
                _("at most %(max)s", max=_number(field.max)) if field.max is not None else "",
                _(field.unit) if field.unit else "",
            ]
            return ", ".join([hint, *[b for b in bounds if b]]) + "."
        case "date":
            return _("A date as YYYY-MM-DD.")
        case "yes_no_unknown" | "choice":
            offered = "; ".join(str(label) for _code, label in choices(field.vocabulary or ""))
            return _("One of: %(choices)s.", choices=offered)
        case "multi_choice":
            offered = "; ".join(str(label) for _code, label in choices(field.vocabulary or ""))
            return _("Any of, separated by “; ”: %(choices)s.", choices=offered)
        case "text_list":
            return _("Items separated by “; ” or one per line.")
    return ""


def _number(bound: float) -> str:
    return str(int(bound)) if float(bound).is_integer() else str(bound)


def _flags(target: service.Target) -> list[CurationFlag]:
    if isinstance(target, Entry):
        return service.open_flags(target)
    return list(target.flags)


@blueprint.post("/flags/<int:flag_id>/resolve")
def resolve_flag(flag_id: int) -> Any:
    """Mark a curation flag dealt with (it is kept, with who resolved it and when)."""
    curation_flag = db.session.get(CurationFlag, flag_id)
    if curation_flag is None:
        abort(404, description=_("No curation flag has number %(id)s.", id=flag_id))
    if not RowVersionForm().validate_on_submit():
        abort(400, description=_("The page was damaged; reload it and try again."))
    service.resolve_flag(curation_flag, current_user.email)
    db.session.commit()
    flash(_("Flag resolved."), "success")
    if curation_flag.entry_id:
        return redirect(url_for(".edit", kind="entry", target_id=curation_flag.entry_id))
    return redirect(url_for(".edit", kind="institution", target_id=curation_flag.institution_id))


def _institution_named(text: str) -> Institution | None:
    """An institution by its number or its permanent identifier, as a curator types it."""
    text = text.strip()
    if text.isdigit() and len(text) < 10:
        return db.session.get(Institution, int(text))
    identifier = normalise(text)
    if identifier is None:
        return None
    return db.session.scalar(select(Institution).where(Institution.public_id == identifier))


@blueprint.route("/institution/<int:target_id>/merge", methods=["GET", "POST"])
def merge(target_id: int) -> Any:
    """Merge a duplicate into this institution: name it, compare both, then confirm."""
    keep = _target("institution", target_id)
    form = MergeForm(request.form if request.method == "POST" else request.args)
    other = None
    if form.other.data:
        other = _institution_named(form.other.data)
        if other is None:
            form.other.errors = [_("No institution has this number or identifier.")]
    if request.method == "POST" and other is not None and form.validate_on_submit():
        try:
            report = merge_institutions(keep, other, current_user.email)  # type: ignore[arg-type]
        except MergeError as exc:
            db.session.rollback()
            form.other.errors = [str(exc)]
        else:
            db.session.commit()
            flash(
                _(
                    "%(retired)s was merged into this institution: %(entries)s entries moved; "
                    "its identifier now leads here.",
                    retired=report.retired.name,
                    entries=report.entries_moved,
                ),
                "success",
            )
            return redirect(url_for("registry.institution", institution_id=keep.id))
    status = 400 if form.other.errors else 200
    return render_template("registry/merge.html", keep=keep, other=other, form=form), status


@blueprint.get("/<kind>/<int:target_id>/history")
def history(kind: str, target_id: int) -> str:
    """Every version: who, when, from what, old and new value per field; restore buttons."""
    target = _target(kind, target_id)
    return render_template(
        "registry/history.html",
        kind=kind,
        target=target,
        versions=service.history(target),
        form=RowVersionForm(row_version=str(target.row_version)),
        labels=_labels(),
    )


def _labels() -> dict[str, str]:
    labels = {f.key: f.heading for f in table1().fields}
    labels |= {key: f.heading for key, f in service.generic_fields().items()}
    labels |= {"status": "Status", "contact_public": "Contact shown publicly"}
    return labels


@blueprint.post("/<kind>/<int:target_id>/restore/<int:number>")
def restore(kind: str, target_id: int, number: int) -> Any:
    """Restore the target as it was right after version ``number`` (a new version)."""
    target = _target(kind, target_id)
    form = RowVersionForm()
    if not form.validate_on_submit():
        abort(400, description=_("The page was damaged; reload it and try again."))
    try:
        service.check_unchanged(target, form.seen())
        provenance = Provenance(
            ChangeSource.RESTORE, current_user.email, source_ref=f"version {number}"
        )
        version = service.restore(target, number, provenance)
        audit(
            "registry.restore",
            current_user.email,
            target_type=kind,
            target_id=target.id,
            restored_version=number,
            new_version=version.number if version else None,
        )
        db.session.commit()
    except service.StaleTarget:
        db.session.rollback()
        return _conflict(kind, target_id, form.seen())
    except StaleDataError:
        db.session.rollback()
        return _conflict(kind, target_id, form.seen())
    except service.RegistryError as exc:
        db.session.rollback()
        abort(400, description=str(exc))
    if version is None:
        flash(_("Version %(number)s is the current state; nothing to restore.", number=number))
    else:
        flash(
            _("Restored version %(number)s as version %(new)s.", number=number, new=version.number),
            "success",
        )
    return redirect(url_for(".history", kind=kind, target_id=target_id))


def _conflict(kind: str, target_id: int, seen: int) -> tuple[str, int]:
    """Another curator saved this target first: show what they changed; nothing was saved."""
    target = _target(kind, target_id)
    saves_since = target.row_version - seen if seen > 0 else 1
    return render_template(
        "registry/conflict.html",
        kind=kind,
        target=target,
        versions=service.history(target)[: max(1, min(5, saves_since))],
        labels=_labels(),
    ), 409
