"""Who made a version, as each audience may be told.

Staff see the account or command that wrote a version. Everyone else sees only what kind
of change it was (a curator's edit, a respondent's answer a curator approved, an import):
staff accounts and respondents' addresses are personal data, and a version's ``actor``
holds one or the other.
"""

from __future__ import annotations

from surveyapp.history.models import Version
from surveyapp.i18n import N_
from surveyapp.i18n import gettext as _
from surveyapp.vocabulary import ChangeSource

PUBLIC_AUTHORS = {
    ChangeSource.TABLE1_IMPORT: N_("the Table 1 import"),
    ChangeSource.FILE_IMPORT: N_("a file import"),
    ChangeSource.SUBMISSION: N_("a respondent, approved by a curator"),
    ChangeSource.STAFF_EDIT: N_("a curator"),
    ChangeSource.RESTORE: N_("a curator"),
}


def public_author(version: Version) -> str:
    """The kind of author of a version, naming no one (for public pages and exports).

    Read after the version's source: "Staff edit, …, by a curator".
    """
    return _(PUBLIC_AUTHORS[version.source])


def author(version: Version, *, staff: bool) -> str:
    """A version's author for this audience: the account for staff, its kind otherwise."""
    return version.actor if staff else public_author(version)
