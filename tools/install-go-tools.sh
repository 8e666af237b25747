#!/usr/bin/env bash
# Builds the deploy/workflow checkers from source with `go install` (prebuilt binaries cannot be downloaded
# here) into a cache outside the repo. Pinned versions; a tool already built at its version is skipped.
# Usage: tools/install-go-tools.sh   then put "$(tools/install-go-tools.sh --bin-dir)" on PATH (the tests
# look there themselves).
set -euo pipefail

bin_dir="${CINEMAABYSS_TOOLS_BIN:-${XDG_CACHE_HOME:-$HOME/.cache}/cinemaabyss/bin}"
if [[ "${1:-}" == "--bin-dir" ]]; then
  echo "$bin_dir"
  exit 0
fi

# name | module path to install | version | extra -ldflags
tools=(
  # Helm's release builds stamp the version and the Kubernetes version its client libraries speak (1.34 for
  # v3.19); without them `helm template` assumes Kubernetes 1.20.
  "helm|helm.sh/helm/v3/cmd/helm|v3.19.5|-X helm.sh/helm/v3/internal/version.version=v3.19.5 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=34 -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=34"
  "actionlint|github.com/rhysd/actionlint/cmd/actionlint|v1.7.12|-X github.com/rhysd/actionlint.version=v1.7.12"
  # Prometheus module v0.316.0 is release 3.16.0. A go-install build has no web UI assets (the HTTP API and
  # promtool are all the tests use); the version stamp makes `--version` and build_info honest.
  "prometheus|github.com/prometheus/prometheus/cmd/prometheus|v0.316.0|-X github.com/prometheus/common/version.Version=3.16.0 -X github.com/prometheus/common/version.Branch=go-install"
  "promtool|github.com/prometheus/prometheus/cmd/promtool|v0.316.0|-X github.com/prometheus/common/version.Version=3.16.0 -X github.com/prometheus/common/version.Branch=go-install"
)

command -v go >/dev/null || { echo "install-go-tools: Go is required (https://go.dev/dl)" >&2; exit 1; }
mkdir -p "$bin_dir"

for entry in "${tools[@]}"; do
  IFS='|' read -r name pkg version ldflags <<<"$entry"
  stamp="$bin_dir/.$name.version"
  version="$version $(sha256sum <<<"$ldflags" | cut -c1-8)"
  if [[ -x "$bin_dir/$name" && "$(cat "$stamp" 2>/dev/null)" == "$version" ]]; then
    echo "install-go-tools: $name $version already built"
    continue
  fi
  echo "install-go-tools: building $name $version (first build takes a few minutes)"
  # CGO off: static binaries, no C toolchain needed.
  CGO_ENABLED=0 GOBIN="$bin_dir" go install -ldflags "$ldflags" "$pkg@${version%% *}"
  echo "$version" >"$stamp"
done

# The repo's own offline validator (tools/validate): rebuilt when its source changes.
validate_src="$(cd "$(dirname "${BASH_SOURCE[0]}")/validate" && pwd)"
validate_hash="$(cat "$validate_src"/go.mod "$validate_src"/go.sum "$validate_src"/*.go | sha256sum | cut -c1-16)"
if [[ -x "$bin_dir/cinemaabyss-validate" && "$(cat "$bin_dir/.cinemaabyss-validate.version" 2>/dev/null)" == "$validate_hash" ]]; then
  echo "install-go-tools: cinemaabyss-validate already built"
else
  echo "install-go-tools: building cinemaabyss-validate (tools/validate)"
  CGO_ENABLED=0 go build -C "$validate_src" -o "$bin_dir/cinemaabyss-validate" .
  echo "$validate_hash" >"$bin_dir/.cinemaabyss-validate.version"
fi
