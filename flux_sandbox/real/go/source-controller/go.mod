// Build module for source-controller v1.9.5 (Flux v2.9.5).
// source-controller replaces its api module with ./api, which is not part of its module zip, so
// `go install` cannot build it; this module requires it and carries its other replace lines.
module flux-sandbox.local/source-controller

go 1.26.0

require github.com/fluxcd/source-controller v1.9.5

replace (
	github.com/opencontainers/go-digest => github.com/opencontainers/go-digest v1.0.1-0.20220411205349-bde1400a84be
	// v0.18.3, which source-controller v1.9.5 requires, is not served by the Go module proxy
	// available here; v0.18.0 is the nearest published patch release of the same minor
	github.com/fluxcd/pkg/artifact => github.com/fluxcd/pkg/artifact v0.18.0
)
