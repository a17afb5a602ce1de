"""Pure diagnosis rules: gathered objects in, :class:`~runbook_lib.diagnose.model.Finding` out.

One module per thing that can be wrong (a GitRepository, a Kustomization, a HelmRelease, Helm's
release storage, a workload, the cert-manager chain). Rules import only ``diagnose.common`` and
``diagnose.model`` (and pure helpers of the library); gathering lives one level up, one module per
troubleshooting case.
"""
