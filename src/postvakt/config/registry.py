"""``[registry]``: whose numbers the cases carry, and which diary every document goes to."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from postvakt.config.fields import EmailAddress, EnvName, Strict, WebAddress
from postvakt.config.organisation import check_number_format

__all__ = ["DEFAULT_NUMBER_PATTERN", "Public360Config", "RegistryConfig"]

DEFAULT_NUMBER_PATTERN = r"\b(?:[A-ZÅÄÖ]{1,12}[ -]?)?(?:19|20)?\d{2}[/-]\d{1,6}\b"
"""A diary number as diaries write them: 'KS 2026/123', 'BUN 2026-45', '26/00123'."""


class Public360Config(Strict):
    """Public 360's SIF web API (``system = "public360"``)."""

    base_url: WebAddress = Field(
        description="Where the SIF API answers, e.g. https://p360.exempel.se/Biz/v2/api/call "
        "(the path up to SI.Data.RPC/…)."
    )
    auth: Literal["authkey", "bearer"] = Field(
        "authkey",
        description="authkey: the key as the query parameter authkey (classic SIF); bearer: "
        "an OAuth token in the Authorization header.",
    )
    authkey_env: EnvName = Field(
        "POSTVAKT_P360_AUTHKEY",
        description="The environment variable holding the authkey (or the bearer token).",
    )
    case_type: str = Field("recno:2", description="CaseType of the cases Postvakt creates.")
    responsible_person_recno: int | None = Field(
        None, description="ResponsiblePersonRecno of new cases (the registrar's recno)."
    )
    responsible_enterprise_recno: int | None = Field(
        None, description="ResponsibleEnterpriseRecno of new cases (the organisation unit)."
    )
    default_value_set: str | None = Field(
        None, description="DefaultValueSet to give CreateCase and CreateDocument, if any."
    )
    document_status: Literal["reserved", "recorded"] = Field(
        "recorded",
        description="Status of documents: reserved (recno:1) or officially recorded (recno:6).",
    )
    timeout_seconds: float = Field(30, gt=0, le=600, description="Time-out of each call.")
    external_system: str = Field(
        "Postvakt",
        min_length=1,
        max_length=50,
        description="ExternalId Type of the cases Postvakt creates (their Id is the case's "
        "reference): how a case whose CreateCase got no answer is found again. Give a test "
        "installation against the same Public 360 a name of its own.",
    )


class RegistryConfig(Strict):
    numbering: Literal["postvakt", "diary"] = Field(
        "postvakt",
        description="postvakt: Postvakt's numbers are the diary numbers (organisations without "
        "a diary system); diary: a case carries a Postvakt reference until the diary system's "
        "number is known, then that number everywhere.",
    )
    reference_format: str = Field(
        "PV-{year}-{seq:06d}",
        description="Postvakt's reference while the diary number is not known (numbering = "
        "diary); fields {prefix}, {year}, {seq}.",
    )
    system: Literal["registrar", "public360", "file"] = Field(
        "registrar",
        description="Where every document of a case goes: registrar (an e-mail per document to "
        "organisation.registrar), public360 (its SIF API) or file (a folder per case).",
    )
    number_pattern: str = Field(
        DEFAULT_NUMBER_PATTERN,
        description="A regular expression that finds the diary number in the registrar's reply "
        "to a notice (subject or first line); a group named number, if any, is the number.",
    )
    collective_number: str | None = Field(
        None,
        description="The diary's collective case for anonymous complaints (numbering = diary), "
        "e.g. 'KS 2026/5'.",
    )
    reply_to: EmailAddress | None = Field(
        None,
        description="A mailbox Postvakt watches, as Reply-To of the registrar's notices: the "
        "registrar's reply with the diary number reaches Postvakt there.",
    )
    folder: Path = Field(
        Path("diarium"), description="system = file: the folder that gets a folder per case."
    )
    retry_max_minutes: int = Field(
        360, ge=1, le=10080, description="The longest wait between two tries to deliver."
    )
    public360: Public360Config | None = None

    @field_validator("reference_format")
    @classmethod
    def _format(cls, value: str) -> str:
        return check_number_format(value)

    @field_validator("number_pattern")
    @classmethod
    def _pattern(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"inget giltigt reguljärt uttryck: {exc}") from None
        return value

    @model_validator(mode="after")
    def _public360(self) -> RegistryConfig:
        if self.system == "public360" and self.public360 is None:
            raise ValueError(
                'system = "public360" kräver tabellen [registry.public360] med minst base_url'
            )
        if self.system == "public360" and self.numbering != "diary":
            raise ValueError(
                'system = "public360" kräver numbering = "diary": ärendets nummer ges av '
                "Public 360 (CaseNumber), inte av Postvakt"
            )
        return self
