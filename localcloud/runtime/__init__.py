"""What runs an ECI instance's containers: real Docker containers, or a simulation with the same states."""
