//go:build tools

// The two modules whose pair makes the prometheus-operator CRDs: the API types and controller-gen.
// Pinned here (go.mod) so the tests validate against the CRDs of a known release, built from the
// module proxy like the rest of hack/tools.
package tools

import (
	_ "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	_ "sigs.k8s.io/controller-tools/cmd/controller-gen"
)
