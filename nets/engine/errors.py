"""ConfigError, on its own so that the modules config.py imports (the data modification) can raise it too."""


class ConfigError(ValueError):
    """Settings that cannot train; the message says which and why."""
