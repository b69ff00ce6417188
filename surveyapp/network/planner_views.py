"""The network planner page: at most N centres proposed from the registry, each pick
explained, for coordinators and admins (declared once below)."""

from __future__ import annotations

from flask import Blueprint

from surveyapp.auth.access import restrict
from surveyapp.vocabulary import Role

blueprint = Blueprint("network_planner", __name__, url_prefix="/staff/network/planner")
restrict(blueprint, [Role.ADMIN, Role.COORDINATOR])
