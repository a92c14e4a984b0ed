"""Who may act at this replica: browser sessions and API tokens, and the record of
logins and logouts. The sessions and tokens are this replica's own state (its tables
fold no ops): never replicated, never touched by a rebuild or carried by a snapshot.
The login and logout facts are ops (kinds below), for the audit trail. Who the
principal behind a session is (an HQ user, a staff member) is the app's business: here
it is only a string such as ``user:<id>``."""

from pathlib import Path

from domain.access.kinds import KINDS
from domain.access.tables import access_sessions, access_tokens
from domain.area import LocalArea

AREA = LocalArea(
    "access",
    Path(__file__).with_name("migrations"),
    kinds=KINDS,
    own_tables=(access_sessions, access_tokens),
)
