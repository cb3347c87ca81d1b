//go:build tools

// The Prometheus server the monitoring test runs, pinned here (go.mod) and built by build.sh with
// only its Kubernetes service discovery: Debian's package has none.
package tools

import (
	_ "github.com/prometheus/prometheus/cmd/prometheus"
)
