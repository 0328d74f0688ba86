"""What the receiver accepts, parsed strictly: ACR trigger payloads and distribution registry notifications.

Both become ``Push`` (a tag of a repository now names a digest) or ``NotAPush`` (an event that says nothing
about a new image: a pull, a delete, a push without a tag). Anything else is ``BadPayload``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from flows.parameters import REPOSITORY_PATTERN, TAG_PATTERN
from tasks.models import DIGEST_PATTERN

Source = Literal["acr", "registry"]
# ACR names are lower case today, but its documented example is not ("repoTest"): the rules decide.
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class BadPayload(ValueError):
    """The body is not JSON of the expected shape; the message says what is wrong."""


@dataclass(frozen=True)
class Push:
    repository: str  # namespace/name
    tag: str
    digest: str
    source: Source


@dataclass(frozen=True)
class NotAPush:
    reason: str


class _Strict(BaseModel):
    # Fields the sender adds that we do not read are allowed; the ones we read must have their exact type.
    model_config = ConfigDict(extra="ignore", strict=True)


# -- ACR triggers (Personal and Enterprise editions send the same two objects) ----------------------------------


class _AcrPushData(_Strict):
    digest: str = Field(pattern=DIGEST_PATTERN)
    tag: str
    pushed_at: str | None = None

    @field_validator("tag")
    @classmethod
    def _tag(cls, tag: str) -> str:
        if not TAG_PATTERN.fullmatch(tag):
            raise ValueError("not a valid image tag")
        return tag

    @field_validator("digest", mode="before")
    @classmethod
    def _prefixed(cls, digest):
        # ACR's own API shows digests as bare hex; accept that form too.
        return f"sha256:{digest}" if isinstance(digest, str) and re.fullmatch(r"[0-9a-f]{64}", digest) else digest


class _AcrRepository(_Strict):
    namespace: str = Field(pattern=_NAME.pattern)
    name: str = Field(pattern=_NAME.pattern)
    region: str | None = None
    repo_full_name: str | None = None


class _AcrTrigger(_Strict):
    push_data: _AcrPushData
    repository: _AcrRepository


def parse_acr(body: bytes) -> Push:
    trigger = _validated(_AcrTrigger, body)
    repository = f"{trigger.repository.namespace}/{trigger.repository.name}"
    if trigger.repository.repo_full_name not in (None, repository):
        raise BadPayload(
            f"repository.repo_full_name {trigger.repository.repo_full_name!r} is not namespace/name ({repository!r})"
        )
    return Push(repository=repository, tag=trigger.push_data.tag, digest=trigger.push_data.digest, source="acr")


# -- distribution notifications -----------------------------------------------------------------------------------


class _Target(_Strict):
    mediaType: str
    repository: str
    digest: str | None = Field(None, pattern=DIGEST_PATTERN)
    tag: str | None = None


class _RegistryEvent(_Strict):
    id: str = Field(pattern=r"^[A-Za-z0-9._:-]{1,100}$")
    action: str = Field(pattern=r"^[a-z]{1,20}$")
    target: _Target


class _Envelope(_Strict):
    events: list[dict] = Field(min_length=1, max_length=100)


def parse_registry(body: bytes) -> list[tuple[str, Push | NotAPush | BadPayload]]:
    """(event id, what it says) for each event of the envelope; one malformed event spoils only itself, since
    the registry sends an envelope it got no 2xx for again and again."""
    return [_registry_event(number, event) for number, event in enumerate(_validated(_Envelope, body).events)]


def _registry_event(number: int, document: dict) -> tuple[str, Push | NotAPush | BadPayload]:
    try:
        event = _RegistryEvent.model_validate(document)
    except ValidationError as error:
        return f"#{number}", BadPayload(first_problem(error, "the event"))
    return event.id, _what_it_says(event)


def _what_it_says(event: _RegistryEvent) -> Push | NotAPush | BadPayload:
    target = event.target
    if event.action != "push":
        return NotAPush(f"a {event.action} event, not a push")
    if not target.tag:
        return NotAPush("a push without a tag (a blob, or a manifest pushed by digest)")
    if not REPOSITORY_PATTERN.fullmatch(target.repository):
        return NotAPush("the repository is not namespace/name")
    if not TAG_PATTERN.fullmatch(target.tag) or target.digest is None:
        return BadPayload("a push needs a valid tag and a sha256 digest")
    return Push(repository=target.repository, tag=target.tag, digest=target.digest, source="registry")


def _validated(model: type[BaseModel], body: bytes):
    try:
        document = json.loads(body)
    except (ValueError, RecursionError) as error:  # not UTF-8, not JSON, a 5000-digit number, deep nesting
        raise BadPayload(f"the body is not JSON: {str(error)[:200]}") from None
    try:
        return model.model_validate(document)
    except ValidationError as error:
        raise BadPayload(first_problem(error, "the body")) from None


def first_problem(error: ValidationError, whole: str) -> str:
    """``where: what`` for the first thing wrong, in one line."""
    first = error.errors()[0]
    return f"{'.'.join(str(part) for part in first['loc']) or whole}: {first['msg']}"
