"""Entry points: the ``eci-release`` command line, the demo, and helpers to register blocks."""
