# Vane's developer entry points. `make demo` and `make test` are the two
# commands a fresh machine needs; both install what they use through scripts/.

GO       ?= go
BIN      := bin/vane
TOOLS    := $(CURDIR)/.tools/bin
PKGS     := ./...
# Test tools (promtool, prometheus) are found through PATH and VANE_TOOLS_DIR.
export VANE_TOOLS_DIR := $(TOOLS)
export PATH := $(TOOLS):$(PATH)

VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -X main.version=$(VERSION)

.PHONY: all build image test test-tools unit fuzz bench demo lint clean

all: build

build:
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/vane

# image: the container image, without a container engine (cmd/vane-image):
# the static binary on scratch for IMAGE_PLATFORMS, as an OCI layout with a
# multi-platform index (bin/image/oci) and a `docker load` tarball per
# platform (bin/image/vane-linux-ARCH.tar). IMAGE=registry/repo:tag pushes
# the index too. Every timestamp is the commit's time, so the same commit
# gives the same digests.
IMAGE_PLATFORMS   ?= linux/amd64,linux/arm64
IMAGE             ?=
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 0)
REVISION          ?= $(shell git rev-parse HEAD 2>/dev/null)

image:
	SOURCE_DATE_EPOCH=$(SOURCE_DATE_EPOCH) $(GO) run ./cmd/vane-image -platforms $(IMAGE_PLATFORMS) \
		-version $(VERSION) -revision '$(REVISION)' -out bin/image $(if $(IMAGE),-push $(IMAGE))

test-tools:
	bash scripts/install-test-tools.sh

# test: the whole suite, as CI runs it. cmd/vane-image's TestImage builds
# the image's static vane (CGO_ENABLED=0 -trimpath, no -race); compiled
# here first, its packages are in the build cache, so that on a cold cache
# their compile (minutes on two cores) does not count against that
# package's test timeout.
test: test-tools lint
	@echo 'test: compiling the static vane binary that the image test puts in its image (minutes on a cold build cache)'
	CGO_ENABLED=0 $(GO) build -trimpath -buildvcs=false -o /dev/null ./cmd/vane
	$(GO) test -race -timeout 15m $(PKGS)
	bash scripts/fuzz-smoke.sh

# staticcheck is pinned and built through the Go module proxy on first use.
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

lint:
	$(GO) vet $(PKGS)
	$(GO) run $(STATICCHECK) $(PKGS)
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

bench: build
	./$(BIN) bench slo --slos 1000
	./$(BIN) bench canary
	./$(BIN) bench xds --streams 1000

demo: build
	./$(BIN) demo

clean:
	rm -rf bin
