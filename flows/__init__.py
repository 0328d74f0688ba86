"""The flows: ``release`` composes the stages."""
