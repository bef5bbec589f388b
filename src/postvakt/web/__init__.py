"""The dashboard: a small server-rendered web application for owners, unit heads and the
registrar, in Swedish.

    app.py        the app factory (:func:`create_app`), middleware and error pages
    context.py    what every page needs: the config, the database, case work, the clock
    roles.py      who is who (roles derived from the config) and what they may see and do
    auth.py       local accounts (argon2 hashes in the database) and the signed-in session
    sessions.py   sessions kept on the server: signing out or a new password ends them
    throttle.py   failed sign-ins slowed per client and per account, never a lock-out
    oidc.py       sign-in with OpenID Connect (Entra ID, Keycloak, …)
    csrf.py       a token in every form, checked on every POST
    views.py      Swedish labels and formatting for the templates
    pages/        one router per page: overview, cases, absences, registrar, compilation
"""

from postvakt.web.app import create_app

__all__ = ["create_app"]
