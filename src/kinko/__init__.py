"""kinko (金庫): the one-time-password system of a shinkin bank's internet banking.

See docs/architecture.md for how the parts fit together.
"""

__version__ = "0.1.0"
