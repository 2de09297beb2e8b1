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

from api.schemas import _Public, _Request
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
    password: str = Field(min_length=MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_LENGTH)

    @field_validator("email")
    @classmethod
    def _normalise_email(cls, value: str) -> str:
        value = normalise_email(value)
        if not _EMAIL.match(value):
            raise ValueError("not a valid e-mail address")
        return value


class UserPublic(UserBase, _Public):
    id: uuid.UUID
    role: Role
    created_at: datetime


class Token(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="Seconds until the token expires.")


class ConsentUpdate(BaseModel):
    """Strict boolean: a consent must be an explicit ``true``/``false``, never ``"yes"`` or 1."""

    model_config = ConfigDict(extra="forbid")

    emotion_processing: bool = Field(strict=True)


class ConsentPublic(BaseModel):
    emotion_processing: bool
    updated_at: datetime | None = Field(description="When the current answer was given.")


class ErasureRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    password: str = Field(
        min_length=1, max_length=MAX_PASSWORD_LENGTH, description="The current password."
    )
