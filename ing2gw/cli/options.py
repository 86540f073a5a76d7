"""Click options shared by the commands that read Ingresses (convert, verify, diff)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])

__all__ = ["conversion_options", "htpasswd_option", "input_options"]


def htpasswd_option(f: F) -> F:
    """``--htpasswd NS/NAME=FILE``: the users of a basic-auth Secret (route, serve, verify)."""
    return click.option(
        "--htpasswd", "htpasswd", multiple=True, metavar="NS/NAME=FILE",
        help="An htpasswd file holding the users of the basic-auth Secret NS/NAME, to check credentials "
             "against (repeatable; without it only the presence of credentials is checked).")(f)


def input_options(f: F) -> F:
    """``-f``, ``-R``, ``-n``, ``-A``, ``-l``, ``--kubeconfig``, ``--context``: where Ingresses
    come from, as kubectl (without ``-f``, from the cluster of the current context)."""
    for opt in reversed([
        click.option("-f", "--filename", "filenames", multiple=True, metavar="PATH",
                     help="File, folder or - (stdin) with manifests (YAML or JSON). Repeatable."),
        click.option("-R", "--recursive", is_flag=True, help="Read folders given with -f recursively."),
        click.option("-n", "--namespace", metavar="NS",
                     help="Only objects in this namespace (cluster default: the context's namespace)."),
        click.option("-A", "--all-namespaces", is_flag=True,
                     help="Objects of every namespace (the default for files)."),
        click.option("-l", "--selector", metavar="SELECTOR",
                     help="Label selector for Ingresses (a=b,c!=d,e in (x,y))."),
        click.option("--kubeconfig", metavar="FILE",
                     help="Kubeconfig to read the cluster with when no -f is given (default: $KUBECONFIG, "
                          "~/.kube/config, then the in-cluster service account)."),
        click.option("--context", metavar="NAME", help="Kubeconfig context to use (default: the current one)."),
        click.option("--skip-non-kubernetes", is_flag=True,
                     help="Skip -f files that are not Kubernetes objects (workflows, Helm values and templates) "
                          "with a note instead of failing with exit 3 (used by the pre-commit hooks)."),
    ]):
        f = opt(f)
    return f


def conversion_options(f: F) -> F:
    for opt in reversed([
        click.option("--provider", metavar="NAME", help="Convert every Ingress with this provider."),
        click.option("--ingress-class", metavar="NAME", help="Only Ingresses of this class."),
        click.option("--annotations-prefix", metavar="PREFIX", help="The controller's annotation prefix, if changed."),
        click.option("--controller-config", type=click.Path(dir_okay=False), metavar="FILE",
                     help="The controller's ConfigMap (e.g. ingress-nginx's), for its defaults."),
        click.option("--topology", type=click.Choice(["shared", "per-namespace", "listenersets"]), default="shared",
                     show_default=True,
                     help="One Gateway per IngressClass in --gateway-namespace; one per namespace (one load "
                          "balancer each); or listenersets: one shared Gateway (one address) with a ListenerSet "
                          "per namespace holding its HTTPS listeners."),
        click.option("--gateway-namespace", default="gateway-system", show_default=True, metavar="NS",
                     help="Namespace of the shared Gateways."),
        click.option("--gateway-class", metavar="NAME",
                     help="GatewayClass of the Gateways (default: the ingress class)."),
        click.option("--gateway-controller", metavar="CONTROLLER",
                     help="Emit the GatewayClass too, with this controllerName."),
        click.option("--gateway", "gateways", multiple=True, metavar="NS/NAME",
                     help="Attach every route to this existing Gateway (repeatable): no Gateway is emitted; "
                          "listeners it lacks become a ListenerSet, or required changes. Read from "
                          "--gateway-file, else from the cluster of the current kubeconfig context."),
        click.option("--gateway-file", "gateway_files", multiple=True, metavar="FILE",
                     help="File or folder with the existing Gateways (and their ListenerSets, ReferenceGrants, "
                          "Namespaces); without --gateway, routes attach to every Gateway in it. Repeatable."),
        click.option("--lookup-services", is_flag=True,
                     help="Look up, read-only in the cluster of the current kubeconfig context, the Services whose "
                          "named ports the -f input uses but does not hold."),
        click.option("--listener-sets", is_flag=True,
                     help="Put listeners beyond the 64-per-Gateway limit into ListenerSets instead of more Gateways."),
        click.option("--experimental", is_flag=True,
                     help="Allow experimental-channel Gateway API fields and filters (sessionPersistence, "
                          "ExternalAuth)."),
        click.option("--allow-unprotected", is_flag=True,
                     help="Accept that protections (auth, IP lists, rate limits, WAF, client certificates) the "
                          "output does not carry are lost; without it such a loss exits 1."),
        click.option("--emitter", default="standard", show_default=True, metavar="NAME",
                     help="The emitter that writes the output (ing2gw emitters lists them)."),
        click.option("--disable-provider", "disabled_providers", multiple=True, metavar="NAME",
                     help="Do not load this provider plugin. Repeatable."),
    ]):
        f = opt(f)
    return f
