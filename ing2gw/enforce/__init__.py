"""Policy enforcement shared by the data planes ing2gw runs: the reference router and
``serve`` (the Gateway side, :mod:`.guard`) and the source controllers' models.

Modules: :mod:`.credentials` reads htpasswd files and checks Basic credentials against them
(the hash formats nginx accepts), :mod:`.buckets` counts requests against rate limits (token
buckets for Gateway implementations, nginx's ``limit_req`` for nginx-based controllers),
:mod:`.standin` is the deterministic stand-in for external auth services, :mod:`.guard`
applies the policies attached to a routed request (:mod:`ing2gw.policy`) and the standard
ExternalAuth filter.
"""
