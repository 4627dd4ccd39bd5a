#!/usr/bin/env bash
# Sets up this checkout on Debian: everything `npm test`, `npm run demo`,
# `npm run bench` and .ci/run need (they all run this first). Idempotent: a second
# run only checks, in about a second. Phases, each timed:
#   apt    the Debian packages below; as root `apt-get update` (when something is
#          missing or the package lists are more than a day old) and
#          `apt-get install -y --no-install-recommends` of the missing ones; not root:
#          prints the one sudo line and exits 2.
#   node   Node 22: the machine's node when it satisfies package.json's engines.node,
#          else the pinned Node of the single-file agents (guest-agent/packaging/pinned.json)
#          fetched with `npm pack`, sha256-checked, unpacked into
#          ${XDG_CACHE_HOME:-~/.cache}/atp/node/ (scripts/node-plan.mjs decides;
#          scripts/with-node.sh runs commands under it).
#   npm    `npm ci` when node_modules is missing or older than package-lock.json.
#   build  `tsc -b` (incremental), so the atp-host and atp-agent bins (dist/) exist,
#          linked into node_modules/.bin.
# Exit codes: 0 ready, 2 Debian packages missing and not root, 1 anything else.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Debian packages the tests need: QEMU (QMP, lab VM), qemu-ga (QGA), the X11
# keyboard data the us/de/fr layouts are generated and checked from, Chromium for
# the web verifier's browser tests, and libvirt (daemon, QEMU driver, virsh: the
# tests start libvirtd themselves; not libvirt-daemon-system, which pulls a NAT
# network and nftables).
# The single-file agent's tests need wine (the Windows .exe's smoke test),
# osslsigncode (strips the signature before injecting the SEA blob), shellcheck
# (installer scripts) and file. openssh-server/-client: the remote-hypervisor tests
# run a real sshd on 127.0.0.1. xvfb and xdotool: the Windows-hook test rig (an X
# display for wine, and input sent into it). qemu-utils: qemu-img makes the
# qcow2 overlays of cloned domains (vm clone, the platform simulator's pools).
# openssl: the lab makes a CA and a server certificate for its SPICE TLS port.
# The lab VM's kernel and busybox are not installed: the lab fetches them with
# `apt-get download`, which needs current package lists.
apt_packages=(qemu-system-x86 qemu-guest-agent xkb-data x11proto-dev libx11-data chromium
  libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients qemu-utils openssl
  wine wine64 osslsigncode shellcheck file
  openssh-server openssh-client
  xvfb xdotool)
# apt-get update when the lists are older than this: Debian drops superseded kernels
# from its mirrors, and the lab downloads the kernel its lists name.
apt_lists_max_age_h=24

say() { echo "setup: $*"; }
fail() {
  echo "setup: $*" >&2
  exit 1
}
now_us() {
  if [ -n "${EPOCHREALTIME:-}" ]; then echo "${EPOCHREALTIME//[!0-9]/}"; else echo $(($(date +%s%N) / 1000)); fi
}
took() { # microsecond timestamp → "1.2 s" since then
  local us=$(($(now_us) - $1))
  echo "$((us / 1000000)).$((us / 100000 % 10)) s"
}
setup_start=$(now_us)
did_work=false

# ---- apt ----------------------------------------------------------------------
phase=$(now_us)
if command -v dpkg-query >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  # shellcheck disable=SC2016 # dpkg-query's own ${...} format, not the shell's
  status_lines=$(dpkg-query -W -f='${Package} ${Status}\n' "${apt_packages[@]}" 2>/dev/null || true)
  declare -A installed=()
  while read -r name want ok state; do
    if [ "$want $ok $state" = "install ok installed" ]; then installed[$name]=1; fi
  done <<<"$status_lines"
  missing=()
  for pkg in "${apt_packages[@]}"; do
    if [ -z "${installed[$pkg]:-}" ]; then missing+=("$pkg"); fi
  done

  lists=/var/lib/apt/lists
  # apt-get update rewrites lists/partial every time, even when nothing changed.
  if compgen -G "$lists/*_Packages*" >/dev/null; then
    lists_age_h=$((($(date +%s) - $(stat -c %Y "$lists/partial" 2>/dev/null || echo 0)) / 3600))
  else
    lists_age_h=none
  fi
  if [ "$lists_age_h" = none ]; then lists_note="no package lists"; else lists_note="package lists ${lists_age_h} h old"; fi

  if [ "$(id -u)" -ne 0 ]; then
    if [ ${#missing[@]} -gt 0 ]; then
      echo "setup: apt: missing Debian packages: ${missing[*]}" >&2
      echo "setup: install them (as root), then run this again:" >&2
      echo "sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}"
      exit 2
    fi
    if [ "$lists_age_h" = none ] || [ "$lists_age_h" -ge "$apt_lists_max_age_h" ]; then
      say "apt: note: ${lists_note}; the lab VM downloads Debian's kernel with apt-get download: if that fails, run sudo apt-get update"
    fi
    say "apt: ${#apt_packages[@]} Debian packages present, ${lists_note} ($(took "$phase"))"
  else
    export DEBIAN_FRONTEND=noninteractive
    if [ ${#missing[@]} -gt 0 ]; then
      say "apt: apt-get update (packages to install)"
      apt-get update -qq
      lists_note="package lists updated"
    elif [ "$lists_age_h" = none ] || [ "$lists_age_h" -ge "$apt_lists_max_age_h" ]; then
      say "apt: apt-get update (${lists_note}; the lab VM downloads Debian's kernel with apt-get download)"
      apt-get update -qq
      lists_note="package lists updated"
    fi
    if [ ${#missing[@]} -gt 0 ]; then
      say "apt: apt-get install -y --no-install-recommends ${missing[*]}"
      apt-get install -y -qq --no-install-recommends "${missing[@]}"
      did_work=true
      say "apt: installed ${missing[*]} ($(took "$phase"))"
    else
      say "apt: ${#apt_packages[@]} Debian packages present, ${lists_note} ($(took "$phase"))"
    fi
  fi
else
  say "apt: not a Debian system (no dpkg-query/apt-get): install the equivalents of ${apt_packages[*]} yourself"
fi

# ---- node ---------------------------------------------------------------------
phase=$(now_us)
command -v node >/dev/null 2>&1 || fail "node: no node on PATH: install Node.js and npm (any version; Node 22 comes from the npm registry)"
command -v npm >/dev/null 2>&1 || fail "node: no npm on PATH: install npm"
plan_text=$(node scripts/node-plan.mjs) || fail "node: scripts/node-plan.mjs failed"
mapfile -t plan <<<"$plan_text"
path_hint="$PWD/node_modules/.bin"
if [ "${plan[0]}" = machine ]; then
  node_bin=$(dirname "$(command -v node)")
  say "node: v${plan[1]} at $(command -v node) ($(took "$phase"))"
else
  version=${plan[1]} dir=${plan[2]} package=${plan[3]} file=${plan[4]} sha256=${plan[5]}
  binary="$dir/$file"
  node_bin=$(dirname "$binary")
  if [ -f "$binary" ] && [ "$(sha256sum "$binary" | cut -d' ' -f1)" = "$sha256" ]; then
    say "node: $(node --version) on PATH is too old; using Node $version from $dir, sha256 ok ($(took "$phase"))"
  else
    say "node: $(node --version) on PATH is too old; fetching Node $version: npm pack $package@$version (the official binary; sha256 pinned in guest-agent/packaging/pinned.json)"
    base=$(dirname "$dir")
    mkdir -p "$base"
    tmp=$(mktemp -d "$base/.fetch-XXXXXX")
    trap 'rm -rf "$tmp"' EXIT
    (cd "$tmp" && npm pack "$package@$version" --pack-destination "$tmp" --silent >/dev/null) || fail "node: npm pack $package@$version failed"
    tarballs=("$tmp"/*.tgz)
    [ -f "${tarballs[0]}" ] || fail "node: npm pack $package@$version produced no tarball"
    tar -xzf "${tarballs[0]}" -C "$tmp" "package/$file"
    actual=$(sha256sum "$tmp/package/$file" | cut -d' ' -f1)
    if [ "$actual" != "$sha256" ]; then
      fail "node: $package@$version $file has sha256 $actual, not the pinned $sha256: not using it"
    fi
    chmod 0755 "$tmp/package/$file"
    rm -rf "$dir"
    # A rename, so a concurrent setup never sees half a directory (the loser's mv fails harmlessly).
    mv -T "$tmp/package" "$dir" 2>/dev/null || [ -x "$binary" ] || fail "node: cannot move Node into $dir"
    rm -rf "$tmp"
    trap - EXIT
    did_work=true
    say "node: Node $version in $dir, $(du -m "$binary" | cut -f1) MB, sha256 ok ($(took "$phase"))"
  fi
  # A stable name for daily PATH use (README): <cache>/atp/node/bin → the current version.
  ln -sfn "$(basename "$dir")/$(dirname "$file")" "$(dirname "$dir")/bin"
  path_hint="$path_hint:$(dirname "$dir")/bin"
fi
PATH="$node_bin:$PATH"
export PATH

# ---- npm ----------------------------------------------------------------------
phase=$(now_us)
npm_version=$(npm --version)
if [ "${npm_version%%.*}" -lt 11 ]; then
  say "npm: warning: npm $npm_version; this project is developed with npm 11 (package.json's allowScripts): npm install -g npm@11"
fi
if [ ! -f node_modules/.package-lock.json ]; then
  reason="node_modules is missing"
elif [ package-lock.json -nt node_modules/.package-lock.json ]; then
  reason="package-lock.json is newer than node_modules"
else
  reason=""
fi
if [ -n "$reason" ]; then
  say "npm: npm ci ($reason)"
  npm ci --no-audit --no-fund
  did_work=true
  say "npm: node modules installed ($(took "$phase"))"
else
  say "npm: node_modules up to date ($(took "$phase"))"
fi

# ---- build --------------------------------------------------------------------
phase=$(now_us)
node_modules/.bin/tsc -b || fail "build: tsc -b failed"
if [ ! -x node_modules/.bin/atp-host ] || [ ! -x node_modules/.bin/atp-agent ]; then
  # npm links a workspace's bins only when their files exist (and makes them executable).
  npm rebuild --ignore-scripts --no-audit --no-fund >/dev/null
  did_work=true
  if [ ! -x node_modules/.bin/atp-host ] || [ ! -x node_modules/.bin/atp-agent ]; then
    fail "build: npm did not link atp-host and atp-agent into node_modules/.bin"
  fi
  say "build: tsc -b; atp-host and atp-agent linked into node_modules/.bin ($(took "$phase"))"
else
  say "build: tsc -b ($(took "$phase"))"
fi
# The web console's bundle (atp-host serve serves web-console/dist at /console/), rebuilt when a source is newer.
console_js=web-console/dist/console.js
if [ ! -f "$console_js" ] || [ -n "$(find web-console/src web-console/static web-console/scripts protocol-schemas/src -newer "$console_js" -print -quit)" ]; then
  phase=$(now_us)
  node_modules/.bin/tsx web-console/scripts/build.ts >/dev/null || fail "build: the web console failed to build (tsx web-console/scripts/build.ts)"
  say "build: web console bundled into web-console/dist ($(took "$phase"))"
fi

say "ready in $(took "$setup_start"): node $(node --version) ($(command -v node)), npm $npm_version"
if [ "$did_work" = true ]; then
  say "atp-host and atp-agent on your PATH (README, \"Setup\"): export PATH=\"$path_hint:\$PATH\""
fi
