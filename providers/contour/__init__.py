"""Contour: ``projectcontour.io/*`` Ingress annotations and HTTPProxy CRDs (see :mod:`.provider`)."""
