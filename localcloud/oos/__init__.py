"""OOS (CloudOps Orchestration Service) 2019-06-01: the public template ACS-ESS-RollingUpdateByUpdateContainerGroup
with its per-instance action ACS::ESS::UpdateContainerGroup, run step by step as the cloud runs them."""
