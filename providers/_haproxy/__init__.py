"""What the two HAProxy-based controllers share: both render an haproxy.cfg whose frontend
looks the request's ``host`` + ``path`` up in map files and then applies per-Ingress
``http-request`` rules (IP lists, rate limits, auth, redirects, header and path rewrites).

The providers (``haproxy_tech``, ``haproxy_ingress``) read their own annotations into one
neutral :class:`~.policy.HaproxyPolicy` per Ingress and describe their own path and host
semantics (:class:`~.model.Lookup`); everything after that is common:

* :mod:`.policy` -- the neutral per-Ingress record and the multi-prefix annotation reader;
* :mod:`.translate` -- the Gateway API side: filters, intents, the HTTPS redirect routes;
* :mod:`.model` -- the data-plane model (``verify``, ``route --as``) in haproxy's rule order;
* :mod:`.process` -- real haproxy on loopback with an echo backend (the ground truth);
* :mod:`.cfg` -- the parts of an haproxy.cfg both controllers' renderers write alike.
"""
