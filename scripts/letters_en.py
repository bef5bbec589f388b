"""The shipped letters to citizens in English, for scripts/make_templates.py (which runs this
file and calls :func:`builders` with its page and signature).

A citizen who writes in English gets these (``files/en/<same file name>``), chosen by the
language recorded on the case.  The names of units and of the organisation stay as they are.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Document = Any  # a python-docx document


def builders(
    _base: Callable[..., Document], _signature: Callable[..., None]
) -> dict[str, Callable[[], Document]]:
    """The English builders by file name (without .docx), like make_templates.BUILDERS."""

    _WHEN_ANSWER_EN = (
        "{% if answer_due %}You will receive an answer from us by {{ answer_due }} at the latest. "
        "If the case is not settled by then, we will tell you in our answer how we are working on "
        "it and when you can expect a decision.{% else %}You will receive an answer from us as soon "
        "as possible. If the case is not settled when we answer, we will tell you how we are "
        "working on it and when you can expect a decision.{% endif %}"
    )
    _NOT_SATISFIED_EN = (
        "If you are not satisfied with the answer you receive, you can contact us again. The "
        "nearest manager will then review the case anew."
    )

    def _case_line(doc: Document) -> None:
        p = doc.add_paragraph()
        p.add_run("Case: ").bold = True
        p.add_run("{{ heading }}")

    def acknowledgment_en() -> Document:
        doc = _base("Acknowledgement", english=True)
        doc.add_paragraph("{{ recipient_name }}")
        doc.add_paragraph()
        doc.add_heading("We have received {{ kind_phrase }}", level=1)
        doc.add_paragraph(
            "Thank you for contacting us. We received {{ kind_phrase }} on {{ received_date }} and "
            "have registered the case under reference number {{ number }}. Please quote the "
            "reference number if you contact us again about the same matter."
        )
        _case_line(doc)
        doc.add_heading("What happens next?", level=2)
        doc.add_paragraph('{%p if letter_kind == "complaint" %}')
        doc.add_paragraph(
            "The manager responsible will look into what you have written and make sure that "
            "anything that has gone wrong is put right. " + _WHEN_ANSWER_EN
        )
        doc.add_paragraph('{%p elif letter_kind == "praise" %}')
        doc.add_paragraph(
            "Thank you for your kind words! We will pass them on to the staff concerned and to the "
            "manager responsible. Praise shows us what we do well and should keep doing, and it is "
            "compiled once a year together with other comments."
        )
        doc.add_paragraph("{%p else %}")
        doc.add_paragraph(
            "Thank you for taking the time to tell us what you think. The manager responsible will "
            "read your comments, and they will be taken into account in our work to develop and "
            "improve our services. All comments are also compiled once a year and used in our "
            "quality work. " + _WHEN_ANSWER_EN
        )
        doc.add_paragraph("{%p endif %}")
        doc.add_paragraph('{%p if letter_kind != "praise" %}')
        doc.add_paragraph(_NOT_SATISFIED_EN)
        doc.add_paragraph("{%p endif %}")
        doc.add_paragraph(
            "Your message is an official document and is registered. We process your personal data "
            "under the General Data Protection Regulation (GDPR) in order to handle the case."
        )
        _signature(doc, english=True)
        return doc

    def acknowledgment_care_en() -> Document:
        """Nothing of what the case concerns, as in Swedish."""
        doc = _base("Acknowledgement", english=True)
        doc.add_paragraph("{{ recipient_name }}")
        doc.add_paragraph()
        doc.add_heading("We have received {{ kind_phrase }}", level=1)
        doc.add_paragraph(
            "Thank you for contacting us. We received {{ kind_phrase }} on {{ received_date }} and "
            "have given the case number {{ number }}. Please quote the number if you contact us "
            "again about the same matter."
        )
        doc.add_heading("What happens next?", level=2)
        doc.add_paragraph(
            "We have passed the case on to the service responsible, and the manager responsible "
            "will look into it. " + _WHEN_ANSWER_EN
        )
        doc.add_paragraph(_NOT_SATISFIED_EN)
        doc.add_paragraph(
            "Information about individuals' personal circumstances is protected by confidentiality, "
            "so we do not repeat in this letter what you wrote. We process your personal data under "
            "the General Data Protection Regulation (GDPR) in order to handle the case."
        )
        _signature(doc, english=True)
        return doc

    def answer_en() -> Document:
        doc = _base("Answer", english=True)
        doc.add_paragraph("{{ recipient_name }}")
        doc.add_paragraph()
        doc.add_heading("Our answer to {{ kind_phrase }}", level=1)
        _case_line(doc)
        doc.add_paragraph("Thank you for contacting us on {{ received_date }}. Here is our answer.")
        doc.add_paragraph("{{ answer_text }}")
        doc.add_paragraph("{%p if actions %}")
        doc.add_heading("What we have done", level=2)
        doc.add_paragraph("{{ actions }}")
        doc.add_paragraph("{%p endif %}")
        doc.add_paragraph('{%p if letter_kind != "praise" %}')
        doc.add_paragraph(
            "If you are not satisfied with the answer, you can contact us again and quote the "
            "reference number {{ number }}. The nearest manager will then review the case anew."
        )
        doc.add_paragraph("{%p endif %}")
        _signature(doc, english=True)
        return doc

    def handover_en() -> Document:
        doc = _base("Case transferred", english=True)
        doc.add_paragraph("{{ recipient_name }}")
        doc.add_paragraph()
        doc.add_heading("Your case has been transferred", level=1)
        _case_line(doc)
        doc.add_paragraph(
            "What you wrote to us on {{ received_date }} concerns a service that is not ours. So "
            "that you get an answer as quickly as possible, we have today transferred the case to "
            "{{ to_unit }}. They will contact you."
        )
        doc.add_paragraph("{%p if new_handler %}")
        p = doc.add_paragraph()
        p.add_run("Now handled by: ").bold = True
        p.add_run("{{ new_handler }}")
        doc.add_paragraph("{%p endif %}")
        doc.add_paragraph("{%p if to_contact %}")
        doc.add_paragraph("You can reach them at {{ to_contact }}.")
        doc.add_paragraph("{%p endif %}")
        doc.add_paragraph(
            "Please quote the reference number {{ number }} if you contact us or them about the "
            "same matter."
        )
        _signature(doc, english=True)
        return doc

    def new_review_en() -> Document:
        doc = _base("New review", english=True)
        doc.add_paragraph("{{ recipient_name }}")
        doc.add_paragraph()
        doc.add_heading("Your case is being reviewed anew", level=1)
        _case_line(doc)
        doc.add_paragraph(
            "You have told us that you are not satisfied with our answer. The nearest manager"
            "{% if reviewer_name %}, {{ reviewer_name }}{% if reviewer_title %}, "
            "{{ reviewer_title }}{% endif %},{% endif %} will therefore review the case anew. You "
            "will receive a new answer {% if answer_due %}by {{ answer_due }} at the latest"
            "{% else %}as soon as possible{% endif %}."
        )
        doc.add_paragraph(
            "Please quote the reference number {{ number }} if you contact us about the same matter."
        )
        _signature(doc, english=True)
        return doc

    return {
        "mottagningsbekraftelse": acknowledgment_en,
        "mottagningsbekraftelse_omsorg": acknowledgment_care_en,
        "svar": answer_en,
        "overlamning": handover_en,
        "ny_provning": new_review_en,
    }
