// Pins of the data files the test control plane and FakeKong use (CRDs, decK's schema),
// fetched through the Go module proxy by `python -m kic_trio.testing.controlplane assets`.
// Nothing here is compiled: the module only lists versions; go.sum beside it carries their
// hashes, so no checksum database is consulted. Keep in step with _versions.py (a unit test checks).
module kictrio.local/assets

go 1.22

require (
	// Kong's CRDs, at the version Kong's controller pins (KIC main 1fa68f864, v3.5 line).
	github.com/kong/kubernetes-configuration/v2 v2.0.0-alpha.1
	// decK's declarative-config JSON schema (pkg/file/kong_json_schema.json), as KIC pins it.
	github.com/kong/go-database-reconciler v1.31.6
	// Gateway API CRDs, experimental channel.
	sigs.k8s.io/gateway-api v1.6.1
)
