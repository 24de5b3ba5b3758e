"""novalite: OpenStack Nova's architecture as one asyncio Python codebase."""

__version__ = "0.1.0"
