#!/bin/sh
# Removes the ATP guest agent installed by install.sh (POSIX sh).
#   uninstall.sh [--root DIR] [--purge]
#   --root DIR  the scratch root install.sh used; systemctl is not run then
#   --purge     also remove /etc/atp (configuration and token)
# Idempotent; prints what it did.
set -eu

root=""
purge=no
die() { printf 'uninstall.sh: %s\n' "$1" >&2; exit 1; }
while [ $# -gt 0 ]; do
  case "$1" in
    --root) [ $# -ge 2 ] || die "--root needs a directory"; root=$2; shift 2 ;;
    --purge) purge=yes; shift ;;
    -h|--help) sed -n '2,6p' "$0"; exit 0 ;;
    *) die "unknown argument: $1" ;;
  esac
done

unit="$root/etc/systemd/system/atp-agent.service"
if [ -z "$root" ] && [ -d /run/systemd/system ] && [ -f "$unit" ]; then
  if systemctl disable --now atp-agent.service >/dev/null 2>&1; then printf 'stopped    atp-agent.service\n'; fi
fi

remove() {
  if [ -e "$1" ]; then rm -f "$1" && printf 'removed    %s\n' "$1"; else printf 'absent     %s\n' "$1"; fi
}
remove "$unit"
remove "$root/usr/local/bin/atp-agent"
if [ -z "$root" ] && [ -d /run/systemd/system ]; then systemctl daemon-reload; fi
if [ "$purge" = yes ]; then
  if [ -d "$root/etc/atp" ]; then rm -rf "$root/etc/atp" && printf 'removed    %s\n' "$root/etc/atp"; else printf 'absent     %s\n' "$root/etc/atp"; fi
else
  if [ -d "$root/etc/atp" ]; then printf 'kept       %s (use --purge to remove)\n' "$root/etc/atp"; fi
fi
exit 0
