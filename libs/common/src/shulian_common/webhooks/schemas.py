"""HTTP models of partner subscriptions and their delivery log."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

EventTypeName = Annotated[
    str, StringConstraints(pattern=r"^cn\.sichuan\.shulian\.[a-z]+\.[a-z_]+\.[a-z_]+\.v\d+$")
]
DivisionCode = Annotated[str, StringConstraints(pattern=r"^\d{6}$")]
Industry = Annotated[str, StringConstraints(min_length=1, max_length=100)]
Payload = Literal["full", "thin"]
Status = Literal["active", "disabled"]


class SubscriptionCreate(BaseModel):
    """A webhook endpoint and what it wants (an empty or missing filter keeps everything)."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(max_length=2000, examples=["https://partner.example.cn/shulian/webhooks"])
    types: list[EventTypeName] | None = Field(default=None, max_length=100)
    cities: list[DivisionCode] | None = Field(default=None, max_length=200, examples=[["510100"]])
    industries: list[Industry] | None = Field(default=None, max_length=100)
    payload: Payload = Field(
        default="full", description="`full`: the event with its data; `thin`: a `dataref` to it"
    )


class SubscriptionUpdate(BaseModel):
    """Fields to change; `status: active` re-enables a subscription disabled by a 410."""

    model_config = ConfigDict(extra="forbid")

    url: str | None = Field(default=None, max_length=2000)
    types: list[EventTypeName] | None = Field(default=None, max_length=100)
    cities: list[DivisionCode] | None = Field(default=None, max_length=200)
    industries: list[Industry] | None = Field(default=None, max_length=100)
    payload: Payload | None = None
    status: Status | None = None


class SubscriptionRead(BaseModel):
    """A partner's webhook subscription (the secret is shown only when created or rotated)."""

    id: str
    url: str
    types: list[str] | None
    cities: list[str] | None
    industries: list[str] | None
    payload: Payload
    status: Status
    disabled_reason: str | None
    previous_secret_expires_at: datetime | None
    version: int
    created_at: datetime
    updated_at: datetime


class SubscriptionCreated(SubscriptionRead):
    """A new subscription with its signing secret (keep it: it is not shown again)."""

    secret: str = Field(examples=["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"])


class SecretRotated(BaseModel):
    """The new signing secret; the previous one keeps signing until `previous_expires_at`."""

    secret: str
    previous_expires_at: datetime


class DeliveryRead(BaseModel):
    """One event owed to an endpoint: its state, attempts and the last outcome."""

    id: str = Field(description="the `webhook-id` header, the same on every attempt")
    event_id: str
    event_type: str
    status: Literal["pending", "delivered", "failed"]
    attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    last_latency_ms: int | None
    created_at: datetime
    delivered_at: datetime | None


class AttemptRead(BaseModel):
    """One attempt of a delivery."""

    attempted_at: datetime
    status_code: int | None
    latency_ms: int
    error: str | None


class DeliveryPage(BaseModel):
    """Deliveries, newest first, and the cursor of the next page."""

    items: list[DeliveryRead]
    next_cursor: str | None


class SubscriptionList(BaseModel):
    """The caller's subscriptions."""

    items: list[SubscriptionRead]
