"""Which pushes release where: a YAML file of rules, the first that matches a push's repository and tag wins.

registry_block: localcloud          # ACR Registry block: host and login to re-check digests with
credentials_block: localcloud       # Alibaba Cloud Credentials block, for ACR temporary logins
rules:
  - repository: my_team/web         # namespace/name, exactly
    tags: "v*"                      # shell-style pattern (fnmatch), "*" for every tag
    scaling_group: web-prod         # the release's target
    container: web
    deployment: release/on-push     # flow/deployment whose trigger turns the event into a run
"""

from __future__ import annotations

import fnmatch
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from deployments.webhook.payloads import Push, first_problem
from flows.parameters import REPOSITORY_PATTERN


class RulesError(ValueError):
    pass


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    repository: str
    tags: str = Field("*", description="fnmatch pattern for the tag")
    scaling_group: str = Field(min_length=1)
    container: str = Field(min_length=1)
    deployment: str = Field("release/on-push", pattern=r"^[^/]+/[^/]+$")

    @field_validator("repository")
    @classmethod
    def _repository(cls, repository: str) -> str:
        if not REPOSITORY_PATTERN.fullmatch(repository):
            raise ValueError("must be namespace/name in lower case, e.g. my_team/web")
        return repository

    def matches(self, push: Push) -> bool:
        return push.repository == self.repository and fnmatch.fnmatchcase(push.tag, self.tags)


class Rules(BaseModel):
    model_config = ConfigDict(extra="forbid")

    registry_block: str = Field(min_length=1)
    credentials_block: str | None = None
    rules: list[Rule] = Field(min_length=1)

    @classmethod
    def load(cls, path: Path) -> "Rules":
        try:
            document = yaml.safe_load(path.read_text())
        except OSError as error:
            raise RulesError(f"cannot read the rules file {path}: {error.strerror}") from None
        except yaml.YAMLError as error:
            raise RulesError(f"the rules file {path} is not YAML: {error}") from None
        try:
            return cls.model_validate(document)
        except ValidationError as error:
            raise RulesError(f"the rules file {path}: {first_problem(error, 'the file')}") from None

    def match(self, push: Push) -> Rule | None:
        return next((rule for rule in self.rules if rule.matches(push)), None)
