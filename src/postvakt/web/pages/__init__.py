"""One router per page: overview, cases, absences, registrar, compilation; and sign-in."""
