"""The shared tokens senders authenticate with. Two may be valid at once, so a token is rotated without a missed
push: add the new one, move the senders over, remove the old one.

Tokens come from a file (one per line, read for every request, so rotation needs no restart) or from
``ECI_RELEASE_WEBHOOK_TOKENS`` (comma-separated).
"""

from __future__ import annotations

import hmac
import os
import secrets
from pathlib import Path

TOKENS_VARIABLE = "ECI_RELEASE_WEBHOOK_TOKENS"
MAX_TOKENS = 2
MIN_LENGTH = 16


class TokenError(ValueError):
    pass


def new_token() -> str:
    return secrets.token_urlsafe(32)


def _checked(tokens: list[str], where: str) -> tuple[str, ...]:
    tokens = [token.strip() for token in tokens if token.strip()]
    if not tokens:
        raise TokenError(f"no webhook token in {where}: put one there (e.g. {new_token()!r})")
    if len(tokens) > MAX_TOKENS:
        raise TokenError(f"{len(tokens)} webhook tokens in {where}: at most {MAX_TOKENS} (the new and the old one)")
    if short := [token for token in tokens if len(token) < MIN_LENGTH]:
        raise TokenError(f"{len(short)} webhook token(s) in {where} shorter than {MIN_LENGTH} characters")
    return tuple(tokens)


class Tokens:
    def __init__(self, file: Path | None = None, tokens: tuple[str, ...] = ()) -> None:
        self._file = file
        self._tokens = tokens
        if file is not None:
            self._reload()

    @classmethod
    def from_file_or_environment(cls, file: Path | None) -> "Tokens":
        if file is not None:
            return cls(file=file)
        return cls(tokens=_checked(os.environ.get(TOKENS_VARIABLE, "").split(","), f"${TOKENS_VARIABLE}"))

    def _reload(self) -> None:
        try:
            text = self._file.read_text()
        except (OSError, UnicodeDecodeError) as error:
            why = error.strerror if isinstance(error, OSError) else "not UTF-8 text"
            raise TokenError(f"cannot read the webhook tokens file {self._file}: {why}") from None
        self._tokens = _checked(text.splitlines(), str(self._file))

    def accepts(self, presented: str | None) -> bool:
        """Whether ``presented`` is one of the tokens; the time taken does not depend on how much of it matches."""
        if self._file is not None:
            try:
                self._reload()
            except TokenError:
                pass  # a file being rewritten (or broken): the tokens read last stay valid
        given = (presented or "").encode()
        matched = False
        for token in self._tokens:  # every token compared, so timing does not tell which one is close either
            matched |= hmac.compare_digest(given, token.encode())
        return matched and presented is not None
