"""Pure diagnosis rules: gathered objects in, :class:`~runbook_lib.diagnose.model.Finding` out.

One module per thing that can be wrong (a GitRepository, a Kustomization, a HelmRelease, Helm's
release storage, a workload, a Certificate, the issuance chain below it). Reason -> finding mappings
are tables of :class:`~runbook_lib.diagnose.model.FindingText`. Rules import only ``diagnose.common``,
``diagnose.model``, each other and pure helpers of the library (objects, durations, masking, kinds,
``logs.parse.LogLine``, ``helm.ReleaseRecord``), never a case module; gathering, state and
``diagnose_*`` live one level up, one module per troubleshooting case.
"""
