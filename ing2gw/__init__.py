"""ing2gw: migrate Kubernetes Ingress resources to the Gateway API and prove the migration
keeps behaviour.

The public Python API is small: :func:`ing2gw.convert.convert` runs the pipeline; the
provider contract lives in :mod:`ing2gw.provider`; the IR in :mod:`ing2gw.ir`.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
