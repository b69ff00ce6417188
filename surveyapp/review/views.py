"""The curators' pages: the review queue, one submission against the registry, decisions.

Curators and admins only, declared once for the blueprint. Each POST commits once; a
decision that lost a race with another curator shows the conflict page (409) instead.
"""

from __future__ import annotations

import json
import time
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError
from wtforms import HiddenField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired

from surveyapp.auth.access import restrict
from surveyapp.campaigns.models import Campaign
from surveyapp.extensions import db
from surveyapp.i18n import country_label
from surveyapp.i18n import gettext as _
from surveyapp.pagination import page_number
from surveyapp.registry.models import Institution
from surveyapp.review import digest, forms, service
from surveyapp.review.models import Review
from surveyapp.routing import id_from
from surveyapp.vocabulary import Role, SubmissionStatus, countries

blueprint = Blueprint("review", __name__, url_prefix="/staff/review")
restrict(blueprint, [Role.ADMIN, Role.CURATOR])
PAGE_SIZE = 50


class TakeForm(FlaskForm):
    """Take a submission into review: carries the row version the page showed."""

    row_version = HiddenField(validators=[DataRequired()])


@blueprint.get("/")
def queue() -> str:
    """Submissions waiting for a decision (or any status), filtered and sorted."""
    form = forms.QueueFilterForm(request.args)
    form.campaign.choices = [SelectChoice("", _("Any"))] + [
        SelectChoice(str(c.id), c.name)
        for c in db.session.scalars(select(Campaign).order_by(Campaign.name))
    ]
    form.country.choices = [SelectChoice("", _("Any"))] + [
        SelectChoice(code, str(country_label(code, name))) for code, name in countries().items()
    ]
    form.validate()
    filters = service.QueueFilters(
        status=form.status.data if "status" not in form.errors else "open",
        campaign_id=id_from(str(form.campaign.data or "")),
        country=form.country.data if "country" not in form.errors else "",
        older_than_days=form.older_than.data if "older_than" not in form.errors else None,
        unverified=form.unverified.data if "unverified" not in form.errors else "",
        sort=form.sort.data if "sort" not in form.errors else "oldest",
    )
    found = service.review_queue(filters, page_number(request.args.get("page")), PAGE_SIZE)
    return render_template(
        "review/queue.html",
        form=form,
        page=found,
        counts=service.status_counts(),
        siblings=service.siblings_by_institution(found.items),
        args={k: v for k, v in request.args.items() if k != "page" and v},
        Status=SubmissionStatus,
        country_label=country_label,
        unverified_count=service.unverified_count(),
        awaiting_confirmation=service.awaiting_confirmation_count(),
        bulk_form=forms.BulkDismissForm() if filters.unverified == "yes" else None,
    )


def _ids(name: str) -> list[int]:
    return [i for i in (id_from(raw) for raw in request.form.getlist(name)) if i]


@blueprint.post("/unverified/dismiss")
def dismiss_unverified() -> Any:
    """Dismiss unverified public suggestions in bulk (those ticked, or all listed): first
    a page asking to confirm with what will go, then, confirmed, reject them without
    emailing anyone and delete suggestions never confirmed in time."""
    form = forms.BulkDismissForm()
    back = url_for("review.queue", unverified="yes")
    if not form.validate_on_submit():
        flash(_("The page was damaged; reload it and try again."), "error")
        return redirect(back)
    chosen = _ids("selected") if form.scope.data == "selected" else _ids("listed")
    suggestions = service.dismissable(chosen)
    if not form.confirmed.data:
        expired = service.expired_count()
        if not suggestions and not expired:
            flash(_("Tick the suggestions to dismiss, or dismiss all listed."), "error")
            return redirect(back)
        return render_template(
            "review/dismiss.html",
            form=forms.BulkDismissForm(formdata=None, scope="selected", confirmed="yes"),
            suggestions=suggestions,
            expired=expired,
        )
    done = service.dismiss_unverified([s.id for s in suggestions], current_user)
    db.session.commit()
    flash(
        _(
            "%(dismissed)s suggestions dismissed, %(purged)s unconfirmed ones deleted; "
            "nobody was emailed.",
            dismissed=done.dismissed,
            purged=done.purged,
        ),
        "success",
    )
    return redirect(back)


def _submission(submission_id: int) -> Any:
    found = service.get_submission(submission_id)
    if found is None:
        abort(404, description=_("No submitted submission has number %(id)s.", id=submission_id))
    return found


def _merge_target(raw: str | None) -> Institution | None:
    institution_id = id_from(raw)
    return db.session.get(Institution, institution_id) if institution_id else None


def _page(
    submission: Any,
    comparison: service.Comparison,
    form: forms.DecisionForm,
    *,
    error: str | None = None,
    status: int = 200,
) -> tuple[str, int]:
    config = current_app.config
    return render_template(
        "review/submission.html",
        submission=submission,
        comparison=comparison,
        form=form,
        field_name=forms.field_name,
        take_form=TakeForm(row_version=str(submission.row_version)),
        others=comparison.others,
        candidates=service.duplicate_candidates(submission, config["DUPLICATE_NAME_THRESHOLD"]),
        reviews=service.reviews_of(submission),
        error=error,
        country_label=country_label,
    ), status


@blueprint.get("/<int:submission_id>")
def submission_page(submission_id: int) -> tuple[str, int]:
    """The submission side by side with the registry and Table 1, and the decision form."""
    submission = _submission(submission_id)
    merge_into = _merge_target(request.args.get("merge_into"))
    comparison = service.compare(submission, merge_into, str(get_locale() or "en"))
    seen = {**comparison.seen_versions, "shown_at_epoch": int(time.time())}
    form = forms.decision_form(comparison)
    form.seen.data = json.dumps(seen, sort_keys=True)
    form.merge_into.data = str(merge_into.id) if merge_into else ""
    return _page(submission, comparison, form)


@blueprint.post("/<int:submission_id>/take")
def take(submission_id: int) -> Any:
    """Assign the submission to the current curator; the respondent can no longer amend it."""
    submission = _submission(submission_id)
    form = TakeForm()
    if not form.validate_on_submit() or not str(form.row_version.data).isdigit():
        flash(_("The page was damaged; reload it and try again."), "error")
        return redirect(url_for("review.submission_page", submission_id=submission.id))
    try:
        service.take(submission, current_user, int(form.row_version.data))
        db.session.commit()
    except service.ReviewConflict as exc:
        db.session.rollback()
        return _conflict(submission_id, exc.changes)
    except service.ReviewError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    except StaleDataError:
        db.session.rollback()
        return _conflict(submission_id, [])
    else:
        flash(_("You are reviewing submission %(id)s.", id=submission_id), "success")
    return redirect(url_for("review.submission_page", submission_id=submission_id))


def _approval(comparison: service.Comparison, form: forms.DecisionForm) -> service.Approval:
    choices = {}
    for row in comparison.rows:
        choice = form._fields.get(forms.field_name(row, "choice"))
        custom = form._fields.get(forms.field_name(row, "custom"))
        comment = form._fields.get(forms.field_name(row, "comment"))
        choices[row.path] = service.FieldChoice(
            choice=(choice.data if choice is not None else "registry") or "submitted",
            custom=(custom.data or "") if custom is not None else "",
            comment=(comment.data or "") if comment is not None else "",
        )
    blocks = comparison.blocks
    return service.Approval(
        seen=form.seen_versions(),
        choices=choices,
        add_blocks={b.index for b in blocks if b.kind == "new" and form[f"add__{b.index}"].data},
        retire_blocks={
            b.index: form[f"retire_reason__{b.index}"].data or ""
            for b in blocks
            if b.kind == "retire" and form[f"retire__{b.index}"].data
        },
        comment=form.comment.data or "",
    )


def _field_comments(comparison: service.Comparison, form: forms.DecisionForm) -> dict[str, str]:
    return {
        row.path: form[forms.field_name(row, "comment")].data or ""
        for row in comparison.rows
        if form[forms.field_name(row, "comment")].data
    }


@blueprint.post("/<int:submission_id>/decide")
def decide(submission_id: int) -> Any:
    """Approve, ask for changes or reject, as the pressed button says."""
    submission = _submission(submission_id)
    merge_into = _merge_target(request.form.get("merge_into"))
    comparison = service.compare(submission, merge_into, str(get_locale() or "en"))
    form = forms.decision_form(comparison)
    if not form.validate_on_submit():
        problems = [f"{form[name].label.text}: {'; '.join(m)}" for name, m in form.errors.items()]
        return _page(submission, comparison, form, error="; ".join(problems), status=400)
    seen = form.seen_versions()
    try:
        if form.approve.data:
            service.approve(comparison, current_user, _approval(comparison, form))
            message = _(
                "Submission %(id)s approved and merged into the registry.", id=submission_id
            )
        elif form.request_changes.data:
            service.request_changes(
                submission,
                current_user,
                seen_row_version=seen.get("submission", -1),
                comment=form.comment.data or "",
                field_comments=_field_comments(comparison, form),
                link_days=current_app.config["CHANGES_LINK_DAYS"],
            )
            message = _("The respondent was asked for changes and gets a fresh link by email.")
        elif form.reject.data:
            service.reject(
                submission,
                current_user,
                seen_row_version=seen.get("submission", -1),
                reason=form.reason.data or "",
                notify=bool(form.notify.data),
            )
            message = _("Submission %(id)s rejected.", id=submission_id)
        else:
            return _page(submission, comparison, form, error=_("Choose a decision."), status=400)
        db.session.commit()
    except service.ReviewConflict as exc:
        db.session.rollback()
        return _conflict(submission_id, exc.changes)
    except service.ReviewError as exc:
        db.session.rollback()
        return _page(submission, comparison, form, error=str(exc), status=400)
    except StaleDataError:
        db.session.rollback()
        return _conflict(submission_id, [])
    flash(message, "success")
    return redirect(url_for("review.queue"))


def _conflict(submission_id: int, changes: list[str]) -> tuple[str, int]:
    """Tell the second curator what the first one did; nothing of theirs was saved."""
    submission = service.get_submission(submission_id)
    last = db.session.scalar(
        select(Review).where(Review.submission_id == submission_id).order_by(Review.id.desc())
    )
    return render_template(
        "review/conflict.html", submission=submission, changes=changes, last=last
    ), 409


@blueprint.app_context_processor
def _digest_on_the_account_page() -> dict[str, Any]:
    """The account page offers reviewers the daily digest; the review area owns it."""

    def review_digest_form() -> forms.DigestForm | None:
        if not current_user.is_authenticated or not digest.may_subscribe(current_user):
            return None
        return forms.DigestForm(review_digest=current_user.review_digest)

    return {"review_digest_form": review_digest_form}


@blueprint.post("/digest")
def digest_setting() -> Any:
    """Switch one's daily email of submissions waiting for review on or off."""
    form = forms.DigestForm()
    if form.validate_on_submit():
        wanted = bool(form.review_digest.data)
        digest.subscribe(current_user, wanted)
        db.session.commit()
        flash(
            _("You will get an email on days when answers arrive for review.")
            if wanted
            else _("You will get no more review digests."),
            "success",
        )
    return redirect(url_for("account.index") + "#digest")
