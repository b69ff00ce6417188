"""Coordinator pages: contacts and their institutions, campaigns, invitations, reminders.

Two blueprints, contacts and campaigns, each open to coordinators and admins (declared
once below).
"""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from sqlalchemy import func, or_, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import selectinload

from surveyapp.auth.access import restrict
from surveyapp.auth.forms import ConfirmForm
from surveyapp.campaigns import (
    campaign_texts,
    emails,
    nominations,
    returned_mail,
    service,
)
from surveyapp.campaigns.contact_import import (
    ContactImportReport,
    import_all,
    read_contacts,
)
from surveyapp.campaigns.forms import (
    CampaignForm,
    CampaignTextsForm,
    ContactForm,
    ContactImportForm,
)
from surveyapp.campaigns.models import Campaign, Contact, Invitation
from surveyapp.campaigns.templates import TemplateProblem
from surveyapp.database import batched_writes
from surveyapp.extensions import db
from surveyapp.i18n import LANGUAGES, ngettext
from surveyapp.i18n import gettext as _
from surveyapp.mail.models import OutboxMessage
from surveyapp.pagination import count, page_number, paginate
from surveyapp.registry import values
from surveyapp.routing import id_from
from surveyapp.tabular import ImportFileError, upload_path
from surveyapp.vocabulary import InvitationStatus, LinkStatus, NominationStatus, Role

COORDINATORS = [Role.ADMIN, Role.COORDINATOR]
contacts = Blueprint("contacts", __name__, url_prefix="/contacts")
restrict(contacts, COORDINATORS)
campaigns = Blueprint("campaigns", __name__, url_prefix="/campaigns")
restrict(campaigns, COORDINATORS)
PAGE_SIZE = 100


@contacts.app_context_processor
def _nominations_waiting() -> dict[str, Any]:
    """The navigation's count of new nominations, queried only where a page shows it (to
    coordinators and admins)."""
    return {"nominations_waiting": nominations.new_count}


# Contacts ------------------------------------------------------------------------------


@contacts.get("/")
def contact_list() -> str:
    """Contacts with their institutions; search by name, email or institution."""
    q = request.args.get("q", "").strip().lower()
    query = select(Contact).options(selectinload(Contact.links))
    if q:
        query = query.where(
            or_(
                func.lower(Contact.email).contains(q, autoescape=True),
                func.lower(func.coalesce(Contact.name, "")).contains(q, autoescape=True),
                func.lower(func.coalesce(Contact.institution_name, "")).contains(
                    q, autoescape=True
                ),
            )
        )
    found = paginate(
        query.order_by(Contact.email), page_number(request.args.get("page")), PAGE_SIZE
    )
    proposed = count(
        select(service.ContactLink).where(service.ContactLink.status == LinkStatus.PROPOSED)
    )
    return render_template(
        "campaigns/contacts.html",
        contacts=found.items,
        total=found.total,
        page=found.page,
        pages=found.pages,
        q=q,
        proposed=proposed,
        new_nominations=nominations.new_count(),
        import_form=ContactImportForm(),
        form=ContactForm(),
    )


def _contact_fields(form: ContactForm) -> dict[str, Any]:
    reading = values.read_country(form.country.data or "")
    if reading.problem:
        form.country.errors.append(reading.problem)
    fields: dict[str, Any] = {
        "name": form.name.data or None,
        "institution_name": form.institution_name.data or None,
        "country_code": reading.value,
    }
    try:
        fields["language"] = service.read_language(form.language.data or "")
    except service.CampaignError as exc:
        form.language.errors.append(str(exc))
    return fields


@contacts.post("/")
def contact_add() -> Any:
    """Add one contact by hand (or update the one with that email)."""
    form = ContactForm()
    if form.validate_on_submit():
        fields = _contact_fields(form)
        try:
            email = service.normalise_contact_email(form.email.data)
        except service.CampaignError as exc:
            form.email.errors.append(str(exc))
        if not form.errors:
            contact, _outcome = service.upsert_contact(email, source="ui", **fields)
            service.propose_links(contact)
            db.session.commit()
            flash(_("%(email)s saved.", email=contact.email), "success")
            return redirect(url_for("contacts.contact_detail", contact_id=contact.id))
    return render_template(
        "campaigns/contacts.html",
        contacts=[],
        total=0,
        page=1,
        pages=1,
        q="",
        proposed=0,
        new_nominations=0,
        import_form=ContactImportForm(),
        form=form,
    ), 400


@contacts.post("/import")
def contact_import() -> Any:
    """Import contacts: good rows kept, skipped rows listed with row, column and reason."""
    form = ContactImportForm()
    if not form.validate_on_submit():
        flash("; ".join(str(e) for errors in form.errors.values() for e in errors), "error")
        return redirect(url_for("contacts.contact_list"))
    upload = form.file.data
    actor = current_user.email
    # The role check's read ends here: no lock is held while the file is read.
    db.session.rollback()
    with tempfile.TemporaryDirectory() as workdir:
        path = upload_path(Path(workdir), upload.filename, "contacts.csv")
        upload.save(path)
        try:
            table = read_contacts(path, max_rows=current_app.config["IMPORT_MAX_ROWS"])
        except ImportFileError as exc:
            return render_template(
                "campaigns/contact_import.html", problems=exc.problems, report=None
            ), 400
    report = ContactImportReport(source=path.name, skipped=list(table.problems))
    with batched_writes():  # each batch committed: others write in between
        try:
            import_all(table, report, actor=actor, commit=db.session.commit)
        except SQLAlchemyError:
            return render_template(
                "campaigns/contact_import.html", report=report, problems=None
            ), 409
    return render_template("campaigns/contact_import.html", report=report, problems=None)


@contacts.route("/<int:contact_id>", methods=["GET", "POST"])
def contact_detail(contact_id: int) -> Any:
    """Edit a contact and decide its proposed institutions."""
    contact = db.session.get(Contact, contact_id) or abort(404)
    form = ContactForm(obj=contact) if request.method == "GET" else ContactForm()
    if request.method == "GET":
        form.country.data = contact.country_code or ""
    if request.method == "POST" and form.validate_on_submit():
        fields = _contact_fields(form)
        if not form.errors:
            for key, value in fields.items():
                setattr(contact, key, value)
            contact.active = form.active.data
            db.session.commit()
            flash(_("Contact saved."), "success")
            return redirect(url_for("contacts.contact_detail", contact_id=contact.id))
    return render_template(
        "campaigns/contact.html", contact=contact, form=form, confirm=ConfirmForm()
    )


@contacts.route("/links", methods=["GET", "POST"])
def links() -> Any:
    """One screen to confirm or reject every proposed contact-institution link."""
    if request.method == "POST" and ConfirmForm().validate_on_submit():
        decisions = {}
        for key, choice in request.form.items():
            if key.startswith("link-") and choice in ("confirm", "reject"):
                contact_id, _sep, institution_id = key.removeprefix("link-").partition("-")
                decisions[(int(contact_id), int(institution_id))] = choice == "confirm"
        try:
            changed = service.decide_links(decisions, actor=current_user.email)
        except service.CampaignError as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            db.session.commit()
            flash(_("%(count)s links decided.", count=changed), "success")
        return redirect(url_for("contacts.links"))
    proposed = service.proposed_links()
    return render_template(
        "campaigns/links.html",
        links=proposed,
        exact=sum(1 for link in proposed if service.is_exact_match(link)),
        is_exact=service.is_exact_match,
        confirm=ConfirmForm(),
    )


@contacts.post("/links/confirm-exact")
def confirm_exact_links() -> Any:
    """Confirm every proposed link that is an exact match (same name and country, or the
    institution's website on the contact's email domain) in one action."""
    if ConfirmForm().validate_on_submit():
        confirmed = service.confirm_exact_matches(actor=current_user.email)
        db.session.commit()
        flash(
            ngettext(
                "%(num)d exact match confirmed.", "%(num)d exact matches confirmed.", confirmed
            ),
            "success",
        )
    return redirect(url_for("contacts.links"))


# Nominations and suggestions -------------------------------------------------------------


def _nominated(nomination_id: int) -> Any:
    return nominations.find(nomination_id) or abort(404)


@contacts.get("/nominations")
def nomination_list() -> str:
    """Every facility nominated by a respondent or suggested by the public, with its status."""
    status = request.args.get("status", "")
    chosen = NominationStatus(status) if status in set(NominationStatus) else None
    return render_template(
        "campaigns/nominations.html",
        items=nominations.nominated_facilities(chosen),
        counts=nominations.status_counts(),
        status=chosen,
        statuses=list(NominationStatus),
        confirm=ConfirmForm(),
        can_review=current_user.has_role(Role.ADMIN, Role.CURATOR),
    )


@contacts.route("/nominations/<int:nomination_id>/contact", methods=["GET", "POST"])
def nomination_contact(nomination_id: int) -> Any:
    """Turn a nomination or suggestion into a contact in one step, pre-filled from it."""
    found = _nominated(nomination_id)
    item = nominations.describe(found)
    form = (
        ContactForm(data=nominations.contact_prefill(item))
        if request.method == "GET"
        else (ContactForm())
    )
    if request.method == "POST" and form.validate_on_submit():
        fields = _contact_fields(form)
        try:
            email = service.normalise_contact_email(form.email.data)
        except service.CampaignError as exc:
            form.email.errors.append(str(exc))
        if not form.errors:
            try:
                contact = nominations.create_contact(
                    found, email, actor=current_user.email, active=form.active.data, **fields
                )
            except service.CampaignError as exc:
                db.session.rollback()
                flash(str(exc), "error")
                return redirect(url_for("contacts.nomination_list"))
            db.session.commit()
            flash(
                _("Contact %(email)s created for %(name)s.", email=contact.email, name=item.name),
                "success",
            )
            return redirect(url_for("contacts.contact_detail", contact_id=contact.id))
    return render_template("campaigns/nomination_contact.html", item=item, form=form), (
        400 if form.errors else 200
    )


@contacts.post("/nominations/<int:nomination_id>/dismiss")
def nomination_dismiss(nomination_id: int) -> Any:
    """Set a nomination or suggestion aside; it stays listed as dismissed."""
    found = _nominated(nomination_id)
    if ConfirmForm().validate_on_submit():
        nominations.dismiss(found, actor=current_user.email)
        db.session.commit()
        flash(_("%(name)s dismissed.", name=found.name), "success")
    return redirect(url_for("contacts.nomination_list", status=request.args.get("status", "")))


# Campaigns -----------------------------------------------------------------------------


def _campaign(campaign_id: int) -> Campaign:
    return db.session.get(Campaign, campaign_id) or abort(404)


@campaigns.get("/")
def campaign_list() -> str:
    """Every campaign with its invitation counts."""
    rows = db.session.scalars(select(Campaign).order_by(Campaign.opens_on.desc())).all()
    return render_template(
        "campaigns/campaigns.html",
        campaigns=rows,
        counts={c.id: service.status_counts(c) for c in rows},
        new_nominations=nominations.new_count(),
    )


@campaigns.route("/new", methods=["GET", "POST"])
def campaign_new() -> Any:
    """Create a campaign: the questionnaire version it asks, dates, default texts to adapt."""
    form = CampaignForm()
    form.offer_questionnaires()
    if request.method == "GET":
        form.opens_on.data = date.today()  # noqa: DTZ011 - a default for a date picker
        form.sender_email.data = current_app.config["MAIL_DEFAULT_SENDER"]
        form.sender_name.data = "ATMP facility registry"
    if form.validate_on_submit():
        settings = form.settings()
        try:
            campaign = service.create_campaign(
                form.name.data,
                settings.pop("closes_on"),
                actor=current_user.email,
                opens_on=settings.pop("opens_on"),
                questionnaire=form.questionnaire.data,
                **settings,
            )
        except (service.CampaignError, TemplateProblem) as exc:
            db.session.rollback()
            form.name.errors.append(str(exc))
        else:
            db.session.commit()
            return redirect(url_for("campaigns.campaign_detail", campaign_id=campaign.id))
    return render_template("campaigns/campaign_form.html", form=form, campaign=None), (
        400 if form.errors else 200
    )


@campaigns.route("/<int:campaign_id>/edit", methods=["GET", "POST"])
def campaign_edit(campaign_id: int) -> Any:
    """Change a campaign's settings and texts."""
    campaign = _campaign(campaign_id)
    form = CampaignForm(obj=campaign)
    del form.questionnaire  # fixed at creation: answers keep the version they were asked
    if form.validate_on_submit():
        try:
            service.update_campaign(campaign, actor=current_user.email, **form.settings())
        except (service.CampaignError, TemplateProblem) as exc:
            db.session.rollback()
            form.invitation_subject.errors.append(str(exc))
        else:
            db.session.commit()
            flash(_("Campaign saved."), "success")
            return redirect(url_for("campaigns.campaign_detail", campaign_id=campaign.id))
    return render_template("campaigns/campaign_form.html", form=form, campaign=campaign), (
        400 if form.errors else 200
    )


def _language_code(code: str) -> str:
    try:
        return service.read_language(code)
    except service.CampaignError:
        abort(404)


@campaigns.route("/<int:campaign_id>/texts/<code>", methods=["GET", "POST"])
def campaign_texts_edit(campaign_id: int, code: str) -> Any:
    """Edit the invitation and reminder texts in one language; contacts of a language
    without texts of its own get the default language's."""
    campaign = _campaign(campaign_id)
    code = _language_code(code)
    if request.method == "GET":
        form = CampaignTextsForm(data=campaign_texts.editable_texts(campaign, code))
    else:
        form = CampaignTextsForm()
    if form.validate_on_submit():
        try:
            campaign_texts.save_texts(campaign, code, form.texts(), actor=current_user.email)
        except TemplateProblem as exc:
            db.session.rollback()
            form.invitation_subject.errors.append(str(exc))
        else:
            db.session.commit()
            flash(_("Texts saved for %(language)s.", language=code), "success")
            return redirect(
                url_for("campaigns.campaign_texts_edit", campaign_id=campaign.id, code=code)
            )
    known = campaign_texts.languages(campaign)
    return render_template(
        "campaigns/texts.html",
        campaign=campaign,
        form=form,
        code=code,
        text_languages=known,
        offered=[c for c in LANGUAGES if c not in known],
        has_own=code in known,
        confirm=ConfirmForm(),
    ), (400 if form.errors else 200)


@campaigns.get("/<int:campaign_id>/texts/")
def campaign_texts_choose(campaign_id: int) -> Any:
    """Open the text editor on a language given by code (the form on the editor)."""
    campaign = _campaign(campaign_id)
    code = request.args.get("language", "").strip() or campaign.default_language
    try:
        code = service.read_language(code)
    except service.CampaignError as exc:
        flash(str(exc), "error")
        code = campaign.default_language
    return redirect(url_for("campaigns.campaign_texts_edit", campaign_id=campaign.id, code=code))


@campaigns.post("/<int:campaign_id>/texts/<code>/remove")
def campaign_texts_remove(campaign_id: int, code: str) -> Any:
    """Drop one language's own texts: its contacts get the default language's again."""
    campaign = _campaign(campaign_id)
    code = _language_code(code)
    if ConfirmForm().validate_on_submit():
        try:
            campaign_texts.remove_texts(campaign, code, actor=current_user.email)
        except service.CampaignError as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            db.session.commit()
            flash(_("The texts for %(language)s were removed.", language=code), "success")
    return redirect(
        url_for(
            "campaigns.campaign_texts_edit", campaign_id=campaign.id, code=campaign.default_language
        )
    )


@campaigns.get("/<int:campaign_id>")
def campaign_detail(campaign_id: int) -> str:
    """Counts per status and the invitations, filtered by status or "not answered"."""
    campaign = _campaign(campaign_id)
    status = request.args.get("status", "")
    query = (
        select(Invitation)
        .where(Invitation.campaign_id == campaign.id)
        .options(selectinload(Invitation.contact), selectinload(Invitation.institution))
    )
    if status == "unanswered":
        query = query.where(Invitation.status.in_(service.UNANSWERED))
    elif status in {s.value for s in InvitationStatus}:
        query = query.where(Invitation.status == InvitationStatus(status))
    found = paginate(
        query.order_by(Invitation.id), page_number(request.args.get("page")), PAGE_SIZE
    )
    remindable = count(service.remindable(campaign))
    pending = (
        db.session.scalar(
            select(func.count(OutboxMessage.id)).where(
                OutboxMessage.campaign_id == campaign.id,
                OutboxMessage.status.in_(["pending", "sending"]),
            )
        )
        or 0
    )
    return render_template(
        "campaigns/campaign.html",
        campaign=campaign,
        counts=service.status_counts(campaign),
        invitations=found.items,
        status=status,
        total=found.total,
        page=found.page,
        pages=found.pages,
        remindable=remindable,
        pending=pending,
        opens_later=service.campaign_not_open_yet(campaign),
        confirm=ConfirmForm(),
        statuses=list(InvitationStatus),
    )


@campaigns.post("/<int:campaign_id>/invite")
def campaign_invite(campaign_id: int) -> Any:
    """Queue invitations for every active contact not yet invited."""
    campaign = _campaign(campaign_id)
    if ConfirmForm().validate_on_submit():
        try:
            report = service.invite(campaign, actor=current_user.email)
        except service.CampaignError as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            db.session.commit()
            flash(report.summary(), "success")
    return redirect(url_for("campaigns.campaign_detail", campaign_id=campaign.id))


@campaigns.route("/<int:campaign_id>/remind", methods=["GET", "POST"])
def campaign_remind(campaign_id: int) -> Any:
    """Remind everyone who has not answered: first who and how many, then send."""
    campaign = _campaign(campaign_id)
    targets = db.session.scalars(
        service.remindable(campaign).options(
            selectinload(Invitation.contact), selectinload(Invitation.institution)
        )
    ).all()
    if request.method == "POST" and ConfirmForm().validate_on_submit():
        emails_queued = service.remind(campaign, list(targets), actor=current_user.email)
        db.session.commit()
        flash(
            _(
                "%(emails)s reminder emails queued for %(count)s invitations.",
                emails=emails_queued,
                count=len(targets),
            ),
            "success",
        )
        return redirect(url_for("campaigns.campaign_detail", campaign_id=campaign.id))
    return render_template(
        "campaigns/remind.html", campaign=campaign, targets=targets, confirm=ConfirmForm()
    )


def _invitation(campaign: Campaign, invitation_id: int) -> Invitation:
    invitation = db.session.get(Invitation, invitation_id)
    if invitation is None or invitation.campaign_id != campaign.id:
        abort(404)
    return invitation


@campaigns.get("/<int:campaign_id>/invitations/<int:invitation_id>")
def invitation_detail(campaign_id: int, invitation_id: int) -> str:
    """An invitation's timeline and actions."""
    campaign = _campaign(campaign_id)
    invitation = _invitation(campaign, invitation_id)
    return render_template(
        "campaigns/invitation.html",
        campaign=campaign,
        invitation=invitation,
        confirm=ConfirmForm(),
        is_open=service.is_open(invitation),
        returned=returned_mail.returned_for(invitation.contact_id),
    )


@campaigns.post("/<int:campaign_id>/invitations/<int:invitation_id>/<action>")
def invitation_action(campaign_id: int, invitation_id: int, action: str) -> Any:
    """Resend, revoke, remind or mark bounced one invitation."""
    campaign = _campaign(campaign_id)
    invitation = _invitation(campaign, invitation_id)
    if action not in ("resend", "revoke", "remind", "bounced"):
        abort(404)
    if ConfirmForm().validate_on_submit():
        try:
            if action == "resend":
                service.resend(invitation, actor=current_user.email)
            elif action == "revoke":
                service.revoke(invitation, actor=current_user.email)
            elif action == "remind":
                service.remind(campaign, [invitation], actor=current_user.email)
            else:
                service.mark_bounced([invitation], "marked by hand", actor=current_user.email)
        except service.CampaignError as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            db.session.commit()
            flash(
                _("Invitation %(id)s: %(action)s done.", id=invitation.id, action=action), "success"
            )
    return redirect(
        url_for("campaigns.invitation_detail", campaign_id=campaign.id, invitation_id=invitation.id)
    )


@campaigns.get("/<int:campaign_id>/preview")
def campaign_preview(campaign_id: int) -> str:
    """The invitation and reminder as a real contact would get them (with a sample link)."""
    from surveyapp.campaigns import templates

    campaign = _campaign(campaign_id)
    contact_id = id_from(request.args.get("contact_id"))
    contact = db.session.get(Contact, contact_id) if contact_id else None
    institutions = contact.confirmed_institutions if contact else []
    context = dict(templates.SAMPLE)
    context |= {"campaign": campaign.name, "deadline": emails.deadline(campaign)}
    if contact:
        context |= {
            "person": contact.name or "colleague",
            "institution": " and ".join(i.name for i in institutions) or emails.NEW_INSTITUTION,
        }
    rendered = {
        kind: {
            "subject": templates.render(getattr(campaign, f"{kind}_subject"), context, html=False),
            "text": templates.render(getattr(campaign, f"{kind}_text"), context, html=False),
            "html": templates.render(getattr(campaign, f"{kind}_html"), context, html=True),
        }
        for kind in ("invitation", "reminder")
    }
    return render_template(
        "campaigns/preview.html", campaign=campaign, contact=contact, rendered=rendered
    )
