"""Auto Scaling (ESS 2022-02-22) for ECI scaling groups."""
