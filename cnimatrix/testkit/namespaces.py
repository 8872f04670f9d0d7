"""The labels of the namespaces a run creates (fixtures/workloads.py make_namespace), so that reuse
can delete what a kept run left and evidence can find what a failed scenario ran in."""

MANAGED_BY = {"app.kubernetes.io/managed-by": "cnimatrix"}
PURPOSE_LABEL = "cnimatrix/purpose"
# The Traefik add-on's namespace is managed-by cnimatrix too, but has no purpose: it is the kept
# cluster's add-on, not a run's leftover.
RUN_NAMESPACE_SELECTOR = "app.kubernetes.io/managed-by=cnimatrix,cnimatrix/purpose"
