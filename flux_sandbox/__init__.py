"""The sandbox engines, beside the product library and never imported by it.

- :mod:`flux_sandbox.sim`: the simulated cluster (our own API server and simulated Flux, Helm and
  cert-manager controllers over an in-memory store, with a real GitOps repository). Starts in seconds,
  needs nothing built; the default engine.
- :mod:`flux_sandbox.cli`: ``runbook sandbox up|scenarios``, which the ``runbook`` command hands its
  arguments to.

The engines may use the library's data (kinds, errors, masking); the library never imports an
engine (an import-linter contract in CI checks it).
"""
