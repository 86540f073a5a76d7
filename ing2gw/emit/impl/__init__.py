"""Implementation emitters: the standard Gateway API output plus the policy objects of one
Gateway implementation (Envoy Gateway, NGINX Gateway Fabric, ...), one module per target.

How to write one (``envoy_gateway.py`` is the worked example):

1. **Vendor the target's CRDs.** ``python tools/vendor_crds.py --impl <target>`` copies the
   schemas of ``$ING2GW_SHARED/implementations/<target>/crds`` into
   ``ing2gw/data/impl/<target>.json``; :mod:`.crds` loads them. ``convert --emitter X
   --validate``, the golden tests and ``dry-run --emitter X`` check every emitted object
   against them (OpenAPI schema and CEL rules).

2. **Declare the object kinds** the emitter writes, as :class:`~.base.ObjectKind` values:
   ``suffix`` (the object is named ``<route>-<suffix>``), ``attach`` -- how it reaches the
   route:

   * ``"targetRefs"`` / ``"targetRef"``: a policy naming the route (``sections=True``: or one
     rule of it through ``sectionName``, the rule's name; the framework names the rules then);
   * ``"extensionRef"``: a filter object the rule lists as an ``ExtensionRef`` filter;
   * ``"listener"``: a policy naming the Gateway listener(s) the route attaches to
     (``sectionName``), in the Gateway's namespace, named ``<gateway>-<listener>-<suffix>``;
   * ``"gateway"`` (a policy on the whole Gateway that scopes itself to the route),
     ``"service"`` (one per backend Service), ``"cluster"`` (cluster-scoped) and ``"rule"``
     (a standard field written into the rule): :mod:`.shared`, used by istio, cilium and gke.

3. **Write the mapping table**: one :class:`~.base.Row` per (intent class, what carries it):
   the intent class, the object kind and field path, the fidelity ``E`` (exact) / ``A``
   (approximate) / ``N`` (none), the difference *in words* (what a client sees change: "nginx
   limit-rps counts per client IP per replica and answers 503; Envoy Gateway's local limit is a
   per-route token bucket answering 429"), a ``doc`` line (what the user must enable or
   create), and a **builder** ``build(intent, site) -> Piece | str``. The builder gets the
   intent and the :class:`~.base.Site` (the emitted route, the rule, its parents) and returns
   the :class:`~.base.Piece` of spec it contributes -- plus value-specific differences, a
   Secret-layout note (``secret=``: exactly which Secret, which key, which hash format the user
   must create; Secrets are referenced, never read) and extra objects -- or a string saying why
   this value cannot be carried (the intent then stays unconsumed and is noted as lost; a lost
   protection fails the run). An ``N`` row has no builder: it documents the gap. The first row
   of an intent class whose builder returns a Piece wins.

   Pieces for the same object merge: mappings deep-merge, lists concatenate, a scalar set twice
   to different values is a conflict (the second intent is not carried, with a note). One
   object per (kind, route) when every rule of the route asks the same, else one per rule (a
   policy whose kind cannot name a rule then carries only uniform intents).

4. **Subclass** :class:`~.base.ImplEmitter` with ``name``, ``description``, ``target`` (the
   data file's name), ``kinds`` and ``rows``; add ``EMITTER = MyEmitter()`` and one line to
   ``ing2gw/emit/registry.py`` BUILTIN. ``consumes`` and ``ing2gw emitters NAME -o markdown``
   (``docs/emitters/<name>.md``, checked by a test) come from the table.

5. **Read back**: ``read_policies(manifests)`` returns the
   :class:`ing2gw.policy.AttachedPolicy` records of the emitter's *own* objects (every other
   kind ignored), stating the target's behaviour (429, SHA-only hashes ...), so the router
   enforces what the YAML says. :func:`~.base.policy_targets` and :func:`~.base.filter_users`
   resolve targetRefs and ExtensionRef filters to routes and rules. Test it by round trip:
   emit, read back, compare with the intents consumed.

6. **Golden cases** under ``testdata/emit/<emitter>/<case>/`` (``input.yaml``,
   ``expected.yaml``, ``expected-notes.json``), one per intent family and per trap of
   MAPPING.md; the test validates every object against the target's CRDs and the Gateway API
   CRDs.
"""
