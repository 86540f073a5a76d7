"""Conversion shared by every provider: the plain Ingress fields."""
