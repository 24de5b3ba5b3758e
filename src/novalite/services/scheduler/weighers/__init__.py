"""Host weighers, with Nova's names and min-max normalisation."""

from novalite.services.scheduler.weighers.base import BaseWeigher, load_weighers, weigh_hosts

__all__ = ["BaseWeigher", "load_weighers", "weigh_hosts"]
