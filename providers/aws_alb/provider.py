"""AWS Load Balancer Controller: the provider object that ing2gw discovers (``PROVIDER``).

It names the controller's IngressClass controllers and class, the ``alb.ingress.kubernetes.io/*``
annotation table, the IngressClassParams kinds it reads and the data plane, and converts the
Ingresses claimed for it with :class:`~.translator.AlbTranslator`: one Gateway per ALB.
"""

from __future__ import annotations

from ing2gw.ir import IR
from ing2gw.kinds import APIKind
from ing2gw.provider import API_VERSION, Claimed, ProviderContext

from .annotations import PREFIX, TABLE
from .dataplane import AlbDataPlane
from .groups import CLASS_PARAMS, EKS_CLASS_PARAMS
from .translator import AlbTranslator

__all__ = ["PROVIDER", "AlbProvider"]


class AlbProvider:
    name = "aws-alb"
    api_version = API_VERSION
    controllers = ("ingress.k8s.aws/alb", "eks.amazonaws.com/alb")
    class_names = ("alb",)
    annotations = TABLE
    annotation_prefixes = (PREFIX,)
    kinds: tuple[APIKind, ...] = (CLASS_PARAMS, EKS_CLASS_PARAMS)
    description = "AWS Load Balancer Controller (ALB Ingress): annotations alb.ingress.kubernetes.io/*, " \
                  "IngressClassParams, IngressGroups"
    data_plane = AlbDataPlane()

    def to_ir(self, claimed: Claimed, ctx: ProviderContext) -> IR:
        return AlbTranslator(ctx, claimed.objects).translate(claimed.ingresses)


PROVIDER = AlbProvider()
