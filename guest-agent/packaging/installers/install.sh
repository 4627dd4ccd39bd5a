#!/bin/sh
# Installs the single-file ATP guest agent on a Linux guest (POSIX sh).
#   install.sh [--root DIR] [--binary FILE] [--config FILE] [--token-file FILE]
#   --root DIR        install below DIR (a scratch root); systemctl is not run then
#   --binary FILE     the executable (default: atp-agent-linux-<arch> next to this script)
#   --config FILE     initial /etc/atp/agent.yaml (default: agent.yaml next to this script);
#                     an existing config is never overwritten
#   --token-file FILE initial /etc/atp/token (never overwrites one)
# Idempotent: a second run with the same inputs changes nothing. Prints what it did.
set -eu

here=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd)
root=""
binary=""
config="$here/agent.yaml"
token=""
unit_src="$here/atp-agent.service"

die() { printf 'install.sh: %s\n' "$1" >&2; exit 1; }

while [ $# -gt 0 ]; do
  case "$1" in
    --root) [ $# -ge 2 ] || die "--root needs a directory"; root=$2; shift 2 ;;
    --binary) [ $# -ge 2 ] || die "--binary needs a file"; binary=$2; shift 2 ;;
    --config) [ $# -ge 2 ] || die "--config needs a file"; config=$2; shift 2 ;;
    --token-file) [ $# -ge 2 ] || die "--token-file needs a file"; token=$2; shift 2 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) die "unknown argument: $1" ;;
  esac
done

if [ -z "$binary" ]; then
  case $(uname -m) in
    x86_64|amd64) arch=x64 ;;
    aarch64|arm64) arch=arm64 ;;
    *) die "no agent build for $(uname -m)" ;;
  esac
  binary="$here/atp-agent-linux-$arch"
fi
[ -f "$binary" ] || die "agent executable not found: $binary"
[ -f "$config" ] || die "config template not found: $config"
[ -f "$unit_src" ] || die "systemd unit not found: $unit_src"
[ -z "$token" ] || [ -f "$token" ] || die "token file not found: $token"
if [ -n "$root" ]; then
  mkdir -p "$root" || die "cannot create $root"
  root=$(CDPATH='' cd -- "$root" && pwd)
fi

bin_dest="$root/usr/local/bin/atp-agent"
conf_dir="$root/etc/atp"
unit_dest="$root/etc/systemd/system/atp-agent.service"
changed_bin=no
changed_unit=no

# put SRC DEST MODE: copies unless DEST already has the same bytes; prints the outcome.
put() {
  if [ -f "$2" ] && cmp -s "$1" "$2"; then
    printf 'unchanged  %s\n' "$2"
    return 1
  fi
  mkdir -p "$(dirname -- "$2")"
  cp "$1" "$2.tmp.$$"
  chmod "$3" "$2.tmp.$$"
  mv -f "$2.tmp.$$" "$2"
  printf 'installed  %s\n' "$2"
  return 0
}

# keep SRC DEST MODE: copies only when DEST does not exist (configuration and secrets).
keep() {
  if [ -e "$2" ]; then
    printf 'kept       %s (exists; not overwritten)\n' "$2"
    return 0
  fi
  mkdir -p "$(dirname -- "$2")"
  cp "$1" "$2.tmp.$$"
  chmod "$3" "$2.tmp.$$"
  mv -f "$2.tmp.$$" "$2"
  printf 'created    %s\n' "$2"
}

if put "$binary" "$bin_dest" 0755; then changed_bin=yes; fi
mkdir -p "$conf_dir"
chmod 0700 "$conf_dir"
keep "$config" "$conf_dir/agent.yaml" 0600
if [ -n "$token" ]; then keep "$token" "$conf_dir/token" 0600; fi
if put "$unit_src" "$unit_dest" 0644; then changed_unit=yes; fi

if [ -n "$root" ]; then
  printf 'scratch root %s: systemctl not run\n' "$root"
elif [ ! -d /run/systemd/system ]; then
  printf 'systemd is not running: start %s yourself (e.g. from an init script)\n' "$bin_dest"
else
  if [ "$changed_unit" = yes ]; then systemctl daemon-reload && printf 'systemctl daemon-reload\n'; fi
  if ! systemctl is-enabled --quiet atp-agent.service; then
    systemctl enable atp-agent.service >/dev/null && printf 'enabled    atp-agent.service\n'
  fi
  if [ "$changed_bin" = yes ] || [ "$changed_unit" = yes ]; then
    systemctl restart atp-agent.service && printf 'restarted  atp-agent.service\n'
  elif ! systemctl is-active --quiet atp-agent.service; then
    systemctl start atp-agent.service && printf 'started    atp-agent.service\n'
  else
    printf 'running    atp-agent.service\n'
  fi
fi
if version=$("$bin_dest" --version 2>/dev/null); then
  printf 'atp-agent %s ready\n' "$version"
else
  printf 'warning: %s --version failed on this machine\n' "$bin_dest"
fi
