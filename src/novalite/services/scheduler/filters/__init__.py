"""Host filters, with Nova's names."""

from novalite.services.scheduler.filters.base import BaseHostFilter, FilterContext, load_filters

__all__ = ["BaseHostFilter", "FilterContext", "load_filters"]
