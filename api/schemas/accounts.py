"""Request and response models of the account routes: registration, tokens, consent, erasure.

The password and e-mail rules come from ``ecs.accounts.users``, so a request the schema accepts
is one the service accepts too.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from api.schemas import EXAMPLE_USER_ID, _Public, _Request, examples
from ecs.accounts.users import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, normalise_email
from ecs.domain.status import Role

# Deliberately loose (one "@", a dot in the domain, no spaces): deliverability is proven by the
# confirmation e-mail, not by a regular expression.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class UserBase(BaseModel):
    email: str = Field(max_length=320, examples=["ana@example.com"])
    consent_emotion_processing: bool = Field(
        default=False,
        description="Whether ECS may use the user's emotion readings in credit decisions.",
    )


class UserCreate(UserBase, _Request):
    model_config = examples(
        {
            "email": "ana@example.com",
            "password": "correct horse battery staple",
            "consent_emotion_processing": True,
        }
    )

    password: str = Field(min_length=MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_LENGTH)

    @field_validator("email")
    @classmethod
    def _normalise_email(cls, value: str) -> str:
        value = normalise_email(value)
        if not _EMAIL.match(value):
            raise ValueError("not a valid e-mail address")
        return value


class UserPublic(UserBase, _Public):
    model_config = examples(
        {
            "id": EXAMPLE_USER_ID,
            "email": "ana@example.com",
            "consent_emotion_processing": True,
            "role": "customer",
            "created_at": "2026-11-30T10:12:45.031000Z",
        }
    )

    id: uuid.UUID
    role: Role
    created_at: datetime


class Token(BaseModel):
    model_config = examples(
        {
            "access_token": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI1ZjBjIn0.c2ln",
            "token_type": "bearer",
            "expires_in": 3600,
        }
    )

    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="Seconds until the token expires.")


class ConsentUpdate(BaseModel):
    """Strict boolean: a consent must be an explicit ``true``/``false``, never ``"yes"`` or 1."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"emotion_processing": False}]}
    )

    emotion_processing: bool = Field(strict=True)


class ConsentPublic(BaseModel):
    model_config = examples(
        {"emotion_processing": False, "updated_at": "2026-12-01T08:30:00.000000Z"}
    )

    emotion_processing: bool
    updated_at: datetime | None = Field(description="When the current answer was given.")


class ErasureRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"password": "correct horse battery staple"}]},
    )

    password: str = Field(
        min_length=1, max_length=MAX_PASSWORD_LENGTH, description="The current password."
    )
