"""The states of ESS instances and scaling activities, and the moves allowed between them (see ``lifecycle``)."""

from __future__ import annotations

from localcloud.lifecycle import Lifecycle

# Instances (LifecycleState)
PENDING = "Pending"
IN_SERVICE = "InService"
STANDBY = "Standby"
PROTECTED = "Protected"
REMOVING = "Removing"
COUNTED_STATES = (IN_SERVICE, PENDING, STANDBY, PROTECTED, REMOVING)  # what counts towards a group's capacity

INSTANCE = Lifecycle(
    "ESS instance",
    state_field="lifecycle_state",
    id_field="instance_id",
    moves={
        PENDING: (IN_SERVICE,),  # its container group runs; one that fails to start leaves the group instead
        IN_SERVICE: (STANDBY, REMOVING),
        STANDBY: (IN_SERVICE, REMOVING),
        PROTECTED: (REMOVING,),  # nothing here protects an instance, but RemoveInstances takes protected ones
        REMOVING: (),  # it leaves the group once its container group is gone
    },
)

# Scaling activities (StatusCode)
IN_PROGRESS = "InProgress"
SUCCESSFUL = "Successful"
WARNING = "Warning"  # some of its instances failed
FAILED = "Failed"
REJECTED = "Rejected"  # refused as it started: nothing to change, or the process is suspended

ACTIVITY = Lifecycle(
    "scaling activity",
    state_field="status_code",
    id_field="id",
    moves={
        IN_PROGRESS: (SUCCESSFUL, WARNING, FAILED, REJECTED),
        SUCCESSFUL: (),
        WARNING: (),
        FAILED: (),
        REJECTED: (),
    },
)
