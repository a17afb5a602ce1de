// Build module for kustomize-controller v1.9.5 (Flux v2.9.5).
// kustomize-controller replaces its api module with ./api, which is not part of its module zip, so
// `go install` cannot build it; this module requires it and carries its other replace lines.
module flux-sandbox.local/kustomize-controller

go 1.26.0

require github.com/fluxcd/kustomize-controller v1.9.5

replace (
	sigs.k8s.io/kustomize/api => sigs.k8s.io/kustomize/api v0.21.1
	sigs.k8s.io/kustomize/kyaml => sigs.k8s.io/kustomize/kyaml v0.21.1
	github.com/opencontainers/go-digest => github.com/opencontainers/go-digest v1.0.1-0.20220411205349-bde1400a84be
	gopkg.in/yaml.v3 => gopkg.in/yaml.v3 v3.0.1
)
