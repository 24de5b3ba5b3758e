"""The scheduler: placement candidates, then filters, then weighers, then the claim."""

from novalite.services.scheduler.manager import SchedulerManager

__all__ = ["SchedulerManager"]
