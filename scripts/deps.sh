#!/bin/sh
# Install the Debian 12 packages arazzo needs to build, test and demo.
# Idempotent and quiet when everything is present already. Needs root (or sudo).
set -eu
PKGS="build-essential cmake pkg-config curl ca-certificates python3
  lua5.4 liblua5.4-dev luarocks libcurl4-openssl-dev libyaml-dev libpcre2-dev libxml2-dev
  lua-busted lua-check lua-compat53-dev lua-cjson
  luajit2 libluajit2-5.1-dev nginx libnginx-mod-http-lua locales"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "deps: installing$missing" >&2
# Installing nginx must not start a daemon on port 80 of a machine that has no policy-rc.d.
POLICY_CREATED=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
  $SUDO chmod +x /usr/sbin/policy-rc.d
  POLICY_CREATED=1
fi
$SUDO apt-get update -qq
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
[ -n "$POLICY_CREATED" ] && $SUDO rm -f /usr/sbin/policy-rc.d
exit 0
