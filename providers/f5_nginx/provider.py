"""F5 NGINX Ingress Controller: the provider object that ing2gw discovers (``PROVIDER``).

It names the controller (``nginx.org/ingress-controller``; its conventional class ``nginx``, shared
with ingress-nginx, see ``ing2gw.detect``), its annotation prefixes, the annotation table, the
VirtualServer/VirtualServerRoute CRDs it converts too, and the data plane.
"""

from __future__ import annotations

from ing2gw.ir import IR
from ing2gw.provider import API_VERSION, Claimed, ProviderContext
from ing2gw.resources import APIKind

from .annotations import PREFIXES, TABLE
from .dataplane import F5DataPlane
from .policies import POLICY
from .ports import move_to_ports
from .settings import SHARED_PREFIX
from .translator import F5Translator
from .virtualserver import VIRTUAL_SERVER, VIRTUAL_SERVER_ROUTE, convert_virtual_servers

__all__ = ["PROVIDER", "F5NginxProvider"]


class F5NginxProvider:
    name = "f5-nginx"
    api_version = API_VERSION
    controllers = ("nginx.org/ingress-controller",)
    # Its conventional class is "nginx", ingress-nginx's too: detection decides by the IngressClass
    # controller, the annotations (nginx.org/*, nginx.com/*), and else presumes ingress-nginx with
    # a warning unless the input shows F5 is there too (then it is an error naming --provider).
    class_names = ("nginx",)
    annotations = TABLE
    # its own prefixes, and ingress.kubernetes.io (the controller reads ssl-redirect; the rest is noted)
    annotation_prefixes = (*PREFIXES, SHARED_PREFIX)
    kinds: tuple[APIKind, ...] = (VIRTUAL_SERVER, VIRTUAL_SERVER_ROUTE, POLICY)
    description = "F5 NGINX Ingress Controller (nginx/kubernetes-ingress, NGINX OSS): annotations nginx.org/*, " \
                  "nginx.com/*, mergeable Ingresses, VirtualServer and VirtualServerRoute with their Policy objects"
    data_plane = F5DataPlane()

    def to_ir(self, claimed: Claimed, ctx: ProviderContext) -> IR:
        translator = F5Translator(ctx)
        ir = move_to_ports(translator.translate(translator.served_ingresses(claimed.ingresses)),
                           translator.server_ports, ctx.notes)
        return convert_virtual_servers(ir, claimed, ctx, translator.config)


PROVIDER = F5NginxProvider()
