"""The simulated engine's HTTP API server: routing, wire format, watch and log streams, Table
rendering, discovery, selectors and patches."""
