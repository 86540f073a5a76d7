"""GKE Ingress (ingress-gce): URL maps, BackendConfig/FrontendConfig, one Gateway per Ingress."""
