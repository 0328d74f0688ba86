"""Entry points: the ``eci-release`` command line and the demo on the embedded local cloud."""
