"""A case is marked for review with each reason once, however often the same thing is found
(a registrar who answers twice with a number another case has, a message read again)."""

from __future__ import annotations

from postvakt.registry.cases import mark_for_review
from postvakt.registry.models import Case


def test_each_reason_once_and_a_new_list_that_the_json_column_sees() -> None:
    case = Case(needs_review=False, review_reasons=["läser som en första felanmälan"])
    before = case.review_reasons
    mark_for_review(case, "registratorns svar: numret har ett annat ärende")
    mark_for_review(case, "registratorns svar: numret har ett annat ärende")
    assert case.needs_review is True
    assert case.review_reasons == [
        "läser som en första felanmälan",
        "registratorns svar: numret har ett annat ärende",
    ]
    assert case.review_reasons is not before  # assigned anew: the change is saved
    mark_for_review(case, "läser som en första felanmälan")
    assert len(case.review_reasons) == 2
