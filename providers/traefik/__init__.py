"""Traefik (v2/v3): the Kubernetes Ingress provider, its annotations, and the IngressRoute,
Middleware, TraefikService, ServersTransport and TLSOption CRDs."""
