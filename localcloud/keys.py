"""The access keys the gateway accepts: long-term RAM keys and STS temporary keys."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AccessKey:
    access_key_id: str
    access_key_secret: str
    security_token: str | None = None  # set for STS keys: requests must carry this token
    expires_at: int | None = None  # temporary keys from AssumeRole: refused after this (epoch seconds)
