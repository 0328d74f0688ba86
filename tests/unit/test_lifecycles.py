"""The tables of ESS instance, scaling activity and ECI container group states: a legal move is made, an illegal
one raises, and the dispatch answers an illegal one as InternalError (a bug in localcloud)."""

from dataclasses import dataclass

import pytest

from localcloud.audit import AuditLog
from localcloud.dispatch import Dispatch
from localcloud.eci import states as eci
from localcloud.errors import ApiError
from localcloud.ess import states as ess
from localcloud.gateway.products import Product
from localcloud.gateway.request import ApiRequest
from localcloud.kernel import Kernel
from localcloud.lifecycle import IllegalTransition, Lifecycle


@dataclass
class Instance:
    instance_id: str
    lifecycle_state: str


@dataclass
class Activity:
    id: str
    status_code: str


@dataclass
class ContainerGroup:
    id: str
    status: str


LEGAL = [
    (ess.INSTANCE, Instance("i-1", ess.PENDING), ess.IN_SERVICE),
    (ess.INSTANCE, Instance("i-1", ess.IN_SERVICE), ess.STANDBY),
    (ess.INSTANCE, Instance("i-1", ess.STANDBY), ess.REMOVING),
    (ess.ACTIVITY, Activity("asa-1", ess.IN_PROGRESS), ess.WARNING),
    (eci.CONTAINER_GROUP, ContainerGroup("eci-1", eci.PENDING), eci.RUNNING),
    (eci.CONTAINER_GROUP, ContainerGroup("eci-1", eci.FAILED), eci.UPDATING),
    (eci.CONTAINER_GROUP, ContainerGroup("eci-1", eci.UPDATING), eci.TERMINATING),
]
ILLEGAL = [
    (ess.INSTANCE, Instance("i-1", ess.IN_SERVICE), ess.PENDING),
    (ess.INSTANCE, Instance("i-1", ess.REMOVING), ess.IN_SERVICE),
    (ess.INSTANCE, Instance("i-1", ess.PENDING), ess.STANDBY),
    (ess.ACTIVITY, Activity("asa-1", ess.SUCCESSFUL), ess.IN_PROGRESS),
    (ess.ACTIVITY, Activity("asa-1", ess.REJECTED), ess.SUCCESSFUL),
    (eci.CONTAINER_GROUP, ContainerGroup("eci-1", eci.TERMINATING), eci.RUNNING),
    (eci.CONTAINER_GROUP, ContainerGroup("eci-1", eci.RUNNING), eci.PENDING),
    (eci.CONTAINER_GROUP, ContainerGroup("eci-1", eci.RUNNING), eci.RUNNING),
    (eci.CONTAINER_GROUP, ContainerGroup("eci-1", "Succeeded"), eci.RUNNING),  # not a state localcloud has
]


@pytest.mark.parametrize(("lifecycle", "record", "target"), LEGAL)
def test_a_legal_move_changes_the_state(lifecycle, record, target):
    lifecycle.move(record, target)
    assert getattr(record, lifecycle.state_field) == target


@pytest.mark.parametrize(("lifecycle", "record", "target"), ILLEGAL)
def test_an_illegal_move_raises_and_changes_nothing(lifecycle, record, target):
    before = getattr(record, lifecycle.state_field)
    with pytest.raises(IllegalTransition) as raised:
        lifecycle.move(record, target)
    assert getattr(record, lifecycle.state_field) == before
    assert f"{getattr(record, lifecycle.id_field)} cannot move from {before} to {target}" in str(raised.value)


def test_a_table_naming_a_state_it_does_not_declare_is_refused():
    with pytest.raises(ValueError, match="undeclared states"):
        Lifecycle("thing", state_field="state", id_field="id", moves={"On": ("Off",)})


def test_the_dispatch_answers_an_illegal_move_as_internal_error():
    product = Product("test", "2000-01-01", "test.example")

    @product.action("Break", mutating=True)
    def break_it(model: ContainerGroup, request: ApiRequest) -> dict:
        eci.CONTAINER_GROUP.move(model, eci.PENDING)
        return {}

    dispatch = Dispatch(Kernel(region_id="cn-hangzhou"), AuditLog())
    dispatch.serve(product, ContainerGroup("eci-1", eci.TERMINATING))
    with pytest.raises(ApiError) as answered:
        dispatch.call(product, ApiRequest(action="Break", params={}))
    assert (answered.value.status, answered.value.code) == (500, "InternalError")
    assert "cannot move from Terminating to Pending" in answered.value.message
