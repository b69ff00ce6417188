"""Readiness for the Centres of Excellence network: the topic's criteria one by one for
each institution, for coordinators and admins (declared once below)."""

from __future__ import annotations

from flask import Blueprint

from surveyapp.auth.access import restrict
from surveyapp.vocabulary import Role

blueprint = Blueprint("readiness", __name__, url_prefix="/staff/network/readiness")
restrict(blueprint, [Role.ADMIN, Role.COORDINATOR])
