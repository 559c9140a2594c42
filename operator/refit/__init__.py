"""Refit: continuous training operator for Kubernetes."""

__version__ = "0.1.0"
