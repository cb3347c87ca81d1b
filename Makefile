# The commands people type. Every Node.js invocation goes through node_modules/.bin so the pinned
# Node.js 24 (npm package node@24) is used, not the machine's Node.js.
SHELL := /bin/bash
export PATH := $(CURDIR)/node_modules/.bin:$(PATH)
NODE_TEST := node --test --test-reporter=spec --test-concurrency=2

.PHONY: all deps test-deps run run-standalone test lint typecheck unit-tests cluster-tests node-tests \
        e2e-tests generate check-generated manifests check-manifests tools images cluster-up cluster-down bench-gateway bench-operator clean

all: test

# npm ci only when the lock file changed since the last install. npx keeps its own copy of this
# project's bin links, keyed by the checkout's path and never refreshed (npm/cli#9766), so that
# entry is dropped too: `npx postern-gateway` must always run this checkout's current bin.
node_modules/.stamp: package.json package-lock.json
	npm ci --no-audit --no-fund
	rm -rf "$$(npm config get cache)/_npx/$$(node -e 'process.stdout.write(require("crypto").createHash("sha512").update(process.cwd()).digest("hex").slice(0, 16))')"
	@touch $@

deps: node_modules/.stamp

# Real SMTP peers and servers from Debian's packages, installed by the suite that needs them.
test-deps:
	bash hack/install-test-deps.sh

## run: the whole system on this machine: a cluster with a node, the operator in it, an example
## gateway and user, an upstream sink, ports forwarded to 127.0.0.1. Ctrl-C takes it all down.
run: deps test-deps tools
	bash hack/run.sh

## run-standalone: the gateway alone, from examples/standalone, with a local upstream sink.
run-standalone: deps
	bash hack/run-standalone.sh

## test: everything CI runs.
test: deps test-deps check-generated check-manifests lint typecheck unit-tests cluster-tests node-tests e2e-tests

lint: deps
	biome check .

typecheck: deps
	tsc --noEmit -p tsconfig.json

# Unit tests and tests against real SMTP peers (no control plane needed).
unit-tests: deps
	$(NODE_TEST) "gateway/**/*.test.ts" "crds/**/*.test.ts" "operator/**/*.test.ts" "hack/**/*.test.ts" "charts/**/*.test.ts"

# Tests against a real kube-apiserver + etcd + kube-controller-manager started for this run.
cluster-tests: deps tools
	$(NODE_TEST) --test-global-setup=hack/testing/global-setup.ts "**/*.cluster-test.ts"

# The node itself: up, pods, idempotence, and nothing left behind once down.
node-tests: deps test-deps tools
	$(NODE_TEST) "**/*.node-test.ts"

# The whole system on a cluster with a node started for this run, from the image `make images` built.
# One file at a time: the node has 2 cores here, and the timings (password rotation, failover) are
# measured, not just checked.
e2e-tests: deps test-deps tools images
	$(NODE_TEST) --test-concurrency=1 --test-global-setup=hack/testing/e2e-setup.ts "**/*.e2e-test.ts"

generate: deps
	node crds/generate.ts
	node charts/generate.ts

# Fails when a generated file (CRD YAML, docs/api.md, the chart's values files, README and CRDs) no
# longer matches the zod source.
check-generated: deps
	node crds/generate.ts --check
	node charts/generate.ts --check

## manifests: charts/release/postern.yaml, the chart rendered for `kubectl apply` (helm from `make tools`).
manifests: deps tools
	node charts/release/generate.ts

# Fails when charts/release/postern.yaml no longer matches the chart.
check-manifests: deps tools
	node charts/release/generate.ts --check

tools:
	bash hack/tools/build.sh

# The Postern image (from the Containerfile) and the node's pause image, as docker-archives in
# .cache/images/; no registry and no builder needed.
images: deps
	node hack/images/build.ts

cluster-up: deps test-deps tools
	bash hack/cluster/node-up.sh

cluster-down:
	bash hack/cluster/down.sh

## bench-gateway: Postern's gateway against Postfix + Dovecot, figures side by side (not a test)
bench-gateway: deps test-deps
	bash hack/bench/gateway.sh

## bench-operator: the operator on a private control plane: 10,000 users, derivations, one change (not a test)
bench-operator: deps tools
	node hack/bench/operator.ts

clean:
	rm -rf node_modules hack/tools/bin .cache/images
