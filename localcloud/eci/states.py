"""The states of ECI container groups and the moves allowed between them (see ``lifecycle``)."""

from __future__ import annotations

from localcloud.lifecycle import Lifecycle

PENDING = "Pending"  # created, its containers not up yet
RUNNING = "Running"
UPDATING = "Updating"  # an in-place update (or a restart of localcloud) is recreating its containers
FAILED = "Failed"  # an image would not pull or a container would not stay up
TERMINATING = "Terminating"  # released: it is gone once its containers are

CONTAINER_GROUP = Lifecycle(
    "container group",
    state_field="status",
    id_field="id",
    moves={
        PENDING: (RUNNING, FAILED, UPDATING, TERMINATING),
        RUNNING: (UPDATING, TERMINATING),
        UPDATING: (RUNNING, FAILED, TERMINATING),
        FAILED: (UPDATING, TERMINATING),
        TERMINATING: (),
    },
)
