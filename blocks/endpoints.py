"""Endpoint overrides, and the SDK's proxy quirk for loopback endpoints.

The SDK sends every call through HTTP_PROXY/HTTPS_PROXY when set and ignores NO_PROXY. For a plain-HTTP
endpoint on this machine (localcloud) the pipeline names the endpoint itself as the proxy: an HTTP/1.1
server accepts the absolute-form request a proxied call sends, so the call goes straight to the endpoint.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, field_validator


class Endpoint(BaseModel):
    """``host[:port]``, optionally with a scheme (``http://127.0.0.1:8080``); https unless told otherwise."""

    host: str = Field(description="host or host:port")
    protocol: str = Field("https", pattern="^(http|https)$")

    @classmethod
    def parse(cls, value: str) -> "Endpoint":
        if "://" in value:
            parts = urlsplit(value)
            if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/"):
                raise ValueError(f"endpoint {value!r} must look like host:port or http(s)://host:port")
            return cls(host=parts.netloc, protocol=parts.scheme)
        return cls(host=value)

    @field_validator("host")
    @classmethod
    def _no_path(cls, host: str) -> str:
        if not host or "/" in host or " " in host:
            raise ValueError(f"endpoint host {host!r} must be host or host:port")
        return host

    @property
    def is_loopback(self) -> bool:
        hostname = urlsplit(f"//{self.host}").hostname or ""
        if hostname == "localhost":
            return True
        try:
            return ipaddress.ip_address(hostname).is_loopback
        except ValueError:
            return False

    def direct_proxy(self) -> str | None:
        """The proxy setting that keeps a loopback plain-HTTP call off any HTTP_PROXY (see module doc)."""
        return f"http://{self.host}" if self.protocol == "http" and self.is_loopback else None
