"""iamdrift: the application shell (CLI, configuration, report renderers)."""

__version__ = "0.1.0"
