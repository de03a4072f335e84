#!/usr/bin/env bash
# `cmake --install` into a staging root puts binaries, the systemd unit, the service's config
# and templates and the docs in place; the installed config loads with its secret from
# $CREDENTIALS_DIRECTORY; `systemd-analyze verify` accepts the unit without a warning and
# `systemd-analyze security` rates it well. Exit 77 (skipped) where systemd-analyze cannot run.
set -euo pipefail
build=${1:?build dir}
stage=$(mktemp -d "${TMPDIR:-/tmp}/rappel-install.XXXXXX")
trap 'rm -rf "$stage"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

DESTDIR="$stage/root" cmake --install "$build" > "$stage/install.log" || { cat "$stage/install.log"; fail "cmake --install"; }
prefix=$(sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' "$build/CMakeCache.txt")
root="$stage/root"
unit=$(find "$root" -name rappeld.service -path '*systemd/system*' | head -n1)
[ -n "$unit" ] || fail "no rappeld.service installed"
for f in bin/rappeld bin/rappelctl share/doc/rappel/operations.md share/doc/rappel/monitoring/rappel-alerts.yml \
         share/doc/rappel/monitoring/rappel-dashboard.json; do
  [ -e "$root$prefix/$f" ] || fail "$prefix/$f not installed"
done
config=$(sed -n 's/^ExecStart=[^ ]* --config \([^ ]*\).*/\1/p' "$unit")
[ -f "$root$config" ] || fail "the unit's config $config is not installed"
[ -d "$(dirname "$root$config")/templates/drivers-licence" ] || fail "templates not installed next to $config"
grep -q 'auth_token_file: ${CREDENTIALS_DIRECTORY}/twilio-auth-token' "$root$config" || fail "config does not read the credential"
echo "installed under $prefix: unit $unit, config $config"

# The installed config loads with the secret from the credentials directory, and not without.
mkdir -p "$stage/creds" && printf 'token-from-credential\n' > "$stage/creds/twilio-auth-token"
env -u RAPPEL_TWILIO_AUTH_TOKEN CREDENTIALS_DIRECTORY="$stage/creds" "$root$prefix/bin/rappeld" --config "$root$config" --check \
  || fail "installed config does not load with CREDENTIALS_DIRECTORY"
if env -u CREDENTIALS_DIRECTORY "$root$prefix/bin/rappeld" --config "$root$config" --check > "$stage/nocreds.log" 2>&1; then
  fail "installed config loaded without credentials"
fi
grep -q "CREDENTIALS_DIRECTORY is not set" "$stage/nocreds.log" || { cat "$stage/nocreds.log"; fail "unclear error without credentials"; }

if ! command -v systemd-analyze > /dev/null; then
  echo "SKIPPED: systemd-analyze is not installed"; exit 77
fi
# verify needs the ExecStart binary at its path: point it into the staging root.
sed "s#^ExecStart=$prefix/bin/rappeld#ExecStart=$root$prefix/bin/rappeld#" "$unit" > "$stage/rappeld.service"
if ! systemd-analyze verify "$stage/rappeld.service" > "$stage/verify.log" 2>&1; then
  if grep -qiE "Failed to (initialize|connect|create|setup)|not booted|No such file or directory.*(bus|run/systemd)" "$stage/verify.log" \
     && ! grep -q "rappeld.service:" "$stage/verify.log"; then
    echo "SKIPPED: systemd-analyze verify cannot run here:"; cat "$stage/verify.log"; exit 77
  fi
  cat "$stage/verify.log"; fail "systemd-analyze verify"
fi
if [ -s "$stage/verify.log" ]; then cat "$stage/verify.log"; fail "systemd-analyze verify printed warnings"; fi
echo "systemd-analyze verify: clean"
exposure=$(systemd-analyze security --offline=yes "$stage/rappeld.service" 2>/dev/null | sed -n 's/.*Overall exposure level for rappeld.service: \([0-9.]*\).*/\1/p')
echo "systemd-analyze security: exposure ${exposure:-?}"
if [ -n "$exposure" ]; then
  awk -v e="$exposure" 'BEGIN { exit !(e <= 2.0) }' || fail "exposure $exposure above 2.0"
fi
echo "PASS"
