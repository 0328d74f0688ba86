"""The products localcloud serves and the registry of their actions.

A product module declares its handlers with ``@PRODUCT.action("Name")``; a handler takes the product's model
and an ``ApiRequest`` and returns the response body without ``RequestId`` (the dispatch adds it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from localcloud.gateway.request import ApiRequest

Handler = Callable[[Any, "ApiRequest"], dict[str, Any]]


@dataclass
class Product:
    name: str  # short code used in audit entries and host ids: "ess", "eci", "oos", "cr"
    version: str
    host: str  # what HostId says in error bodies
    actions: dict[str, Handler] = field(default_factory=dict)
    mutating: set[str] = field(default_factory=set)

    def action(self, name: str, *, mutating: bool = False) -> Callable[[Handler], Handler]:
        """Register a handler; ``mutating`` marks calls that change state (the audit log reports it)."""

        def register(handler: Handler) -> Handler:
            self.actions[name] = handler
            if mutating:
                self.mutating.add(name)
            return handler

        return register


ESS = Product("ess", "2022-02-22", "ess.aliyuncs.com")
ECI = Product("eci", "2018-08-08", "eci.aliyuncs.com")
OOS = Product("oos", "2019-06-01", "oos.aliyuncs.com")
CR = Product("cr", "2018-12-01", "cr.aliyuncs.com")
STS = Product("sts", "2015-04-01", "sts.aliyuncs.com")

PRODUCTS_BY_VERSION = {p.version: p for p in (ESS, ECI, OOS, CR, STS)}
