# The commands people type. Every Node.js invocation goes through node_modules/.bin so the pinned
# Node.js 24 (npm package node@24) is used, not the machine's Node.js.
SHELL := /bin/bash
export PATH := $(CURDIR)/node_modules/.bin:$(PATH)
NODE_TEST := node --test --test-reporter=spec --test-concurrency=2

.PHONY: all deps test-deps run test lint typecheck unit-tests cluster-tests generate check-generated \
        tools cluster-up cluster-down bench-gateway bench-operator clean

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

## run: the standalone gateway from examples/standalone with a local upstream sink.
run: deps
	bash hack/run-standalone.sh

## test: everything CI runs.
test: deps test-deps check-generated lint typecheck unit-tests cluster-tests

lint: deps
	biome check .

typecheck: deps
	tsc --noEmit -p tsconfig.json

# Unit tests and tests against real SMTP peers (no control plane needed).
unit-tests: deps
	$(NODE_TEST) "gateway/**/*.test.ts" "crds/**/*.test.ts" "operator/**/*.test.ts" "hack/**/*.test.ts"

# Tests against a real kube-apiserver + etcd + kube-controller-manager started for this run.
cluster-tests: deps tools
	$(NODE_TEST) --test-global-setup=hack/testing/global-setup.ts "**/*.cluster-test.ts"

generate: deps
	node crds/generate.ts

# Fails when a generated file (CRD YAML, docs/api.md) no longer matches the zod source.
check-generated: deps
	node crds/generate.ts --check

tools:
	bash hack/tools/build.sh

cluster-up: tools
	bash hack/cluster/up.sh

cluster-down:
	bash hack/cluster/down.sh

## bench-gateway: Postern's gateway against Postfix + Dovecot, figures side by side (not a test)
bench-gateway: deps test-deps
	bash hack/bench/gateway.sh

## bench-operator: the operator on a private control plane: 10,000 users, derivations, one change (not a test)
bench-operator: deps tools
	node hack/bench/operator.ts

clean:
	rm -rf node_modules hack/tools/bin
