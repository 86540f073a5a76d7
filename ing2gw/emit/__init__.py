"""Emitters: IR -> Kubernetes manifests (plain mappings, never YAML text)."""
