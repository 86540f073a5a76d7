"""Azure Application Gateway Ingress Controller: one shared gateway, URL path maps, backend settings."""
