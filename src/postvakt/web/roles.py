"""Who is who and what each may see and do: kept in :mod:`postvakt.roles` (the command line
asks the same questions without loading the web application); named here for the pages."""

from postvakt.roles import *  # noqa: F403 - the same names, one definition
from postvakt.roles import __all__ as __all__
