//go:build tools

// Package tools pins Helm. It has its own module because Helm 3.17 needs
// github.com/containerd/errdefs v0.3.0, whose API the cadvisor that kube-controller-manager links
// (v0.51.0, written for errdefs v0.1.0) does not compile against.
package tools

import (
	_ "helm.sh/helm/v3/cmd/helm"
)
