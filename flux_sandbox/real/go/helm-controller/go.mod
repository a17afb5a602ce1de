// Build module for helm-controller v1.6.4 (Flux v2.9.5).
// helm-controller replaces its api module with ./api, which is not part of its module zip, so
// `go install` cannot build it; this module requires it and carries its other replace lines.
module flux-sandbox.local/helm-controller

go 1.26.0

require github.com/fluxcd/helm-controller v1.6.4

replace (
	sigs.k8s.io/kustomize/api => sigs.k8s.io/kustomize/api v0.21.1
	sigs.k8s.io/kustomize/kyaml => sigs.k8s.io/kustomize/kyaml v0.21.1
	github.com/opencontainers/go-digest => github.com/opencontainers/go-digest v1.0.1-0.20231025023718-d50d2fec9c98
)
