"""ingress-nginx's data plane for ``verify`` (:class:`ing2gw.dataplane.DataPlane`): the model,
its TCP/UDP services and SSL passthrough as a stream model (:mod:`.streamservices`,
:mod:`.streammodel`), the header sets worth probing, the notes about the controller itself,
and real nginx as an oracle."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ing2gw.dataplane import Checker, DataPlaneModel, HeaderSets, StreamModel
from ing2gw.notes import Fidelity, Level, Note, Notes
from ing2gw.provider import AnnotationTable
from ing2gw.resources import Ingress, ResourceSet
from ing2gw.router.paths import STANDARD

from .parsers import BackendProtocol

__all__ = ["NginxDataPlane"]

# An origin no CORS list allows.
_FOREIGN_ORIGIN = "https://elsewhere.ing2gw.invalid"
# The annotations probe_headers reads (the others do not change the header sets probed).
_PROBED = frozenset({"backend-protocol", "enable-cors", "cors-allow-origin", "canary", "canary-by-header",
                     "canary-by-header-value", "canary-by-cookie"})
# Request paths nginx normalises before matching: %XX escapes, backslashes, //, dot segments.
_DENORMAL = r"~%|\\|//|/\.\.?(/|$)"


class NginxDataPlane:
    """What ``verify`` replays ingress-nginx conversions against."""

    def __init__(self, table: AnnotationTable) -> None:
        self.table = table

    def model(self, resources: ResourceSet, controller_config: Mapping[str, str] | None = None) -> DataPlaneModel:
        """A model of the controller's data plane (``route --as``, ``verify``)."""
        from .configmap import controller_config_of
        from .model import NginxModel

        return NginxModel.from_resources(resources, controller_config or controller_config_of(resources))

    def streams(self, resources: ResourceSet) -> StreamModel | None:
        """The TCP/UDP services and the SSL passthrough hosts (TLS by SNI to the ``/``
        backend); None without any."""
        from .streammodel import passthrough_streams
        from .streamservices import nginx_streams

        return nginx_streams(resources, passthrough_streams(resources, self.table.prefix.rstrip("/")))

    def probe_headers(self, ingresses: Sequence[Ingress]) -> HeaderSets:
        """Header sets worth probing per Ingress: its canary header and cookie values, a gRPC
        content type for gRPC backends, and for CORS a request and a preflight from an allowed
        origin and from one no list allows."""
        out: dict[str, list[tuple[tuple[str, str], ...]]] = {}
        notes = Notes()  # (the conversion notes the annotations; these are dropped)
        table = self.table
        keys = {k for k in table.specs if table.canonical(k) in _PROBED}  # (and their aliases)
        for ing in ingresses:
            ann = table.read(ing, notes, only=keys)  # only the annotations read here are parsed
            if not ann.raw:  # (most Ingresses have none of them: no header set)
                continue
            sets: list[tuple[tuple[str, str], ...]] = []
            if ann.get("backend-protocol") in (BackendProtocol.GRPC, BackendProtocol.GRPCS):
                sets.append((("content-type", "application/grpc"),))  # a gRPC request as well as plain ones
            if ann.get("enable-cors"):
                origins = [o for o in ann.get("cors-allow-origin").origins if "*" not in o][:1]
                for origin in [*origins, _FOREIGN_ORIGIN]:
                    sets.append((("origin", origin),))
                    sets.append(((":method", "OPTIONS"), ("origin", origin), ("access-control-request-method", "GET")))
            if not ann.get("canary"):
                if sets:
                    out[ing.ref] = sets
                continue
            header = ann.get("canary-by-header")
            if header:
                values = [ann.get("canary-by-header-value") or "always", "never", "other"]
                sets += [((str(header).lower(), str(v)),) for v in values]
            cookie = ann.get("canary-by-cookie")
            if cookie:
                sets += [(("cookie", f"{cookie}={v}"),) for v in ("always", "never")]
            if sets:
                out[ing.ref] = sets
        return out

    def controller_notes(self) -> list[Note]:
        """Differences between ingress-nginx and any Gateway API data plane that no Ingress
        causes: they explain differences ``verify`` finds for requests no Ingress owns or
        for paths the two sides normalise differently."""
        subject = "controller ingress-nginx"
        return [
            Note(code="NGINX-DEFAULT-SERVER", level=Level.INFO, subject=subject, fidelity=Fidelity.APPROXIMATE,
                 message="requests for unknown hosts reach ingress-nginx's default server, which answers "
                         "/healthz with 200 and everything else from the default backend (404)",
                 instead="a Gateway answers 404 for hosts no route claims",
                 aspects=frozenset({"status", "backend"}), scope=(("", "/healthz"),)),
            Note(code="NGINX-DEFAULT-CERTIFICATE", level=Level.WARNING, subject=subject,
                 fidelity=Fidelity.APPROXIMATE,
                 message="ingress-nginx answers https:// for every host on port 443, with its default (self-signed) "
                         "certificate for hosts no Ingress tls section names; the Gateway has HTTPS listeners only "
                         "for hosts with a certificate, so https:// clients of the others now fail the TLS "
                         "handshake",
                 instead="no HTTPS listener for hosts without a certificate (add a tls section to keep https://)",
                 aspects=frozenset({"tls"}), scope=(("*", ""),)),
            Note(code="NGINX-PATH-NORMALISATION", level=Level.INFO, subject=subject, fidelity=Fidelity.APPROXIMATE,
                 message="nginx matches locations on the decoded, normalised path (every %XX decoded, // merged, "
                         "dot segments resolved, 400 above the root) and, unless it rewrites, forwards the path "
                         "as the client sent it; the Gateway matches and forwards the path normalised by its "
                         f"implementation's policy ({STANDARD.describe()})",
                 instead="requests with escapes, \\, // or dot segments may match differently or reach the "
                         "backend with another path",
                 aspects=frozenset({"status", "backend", "weights", "redirect", "path"}), scope=(("*", _DENORMAL),)),
        ]

    def oracle(self, model: DataPlaneModel) -> Checker:
        """Real nginx serving the configuration the controller would write (``--oracle nginx``)."""
        from .model import NginxModel
        from .oracle import OracleSession

        assert isinstance(model, NginxModel)
        return OracleSession(model)
