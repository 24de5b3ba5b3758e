"""Host filters, with Nova's names."""

from novalite.services.scheduler.filters.base import BaseHostFilter, load_filters

__all__ = ["BaseHostFilter", "load_filters"]
