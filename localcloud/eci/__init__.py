"""Elastic Container Instance (ECI 2018-08-08): container groups and in-place updates."""
