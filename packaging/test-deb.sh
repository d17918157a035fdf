#!/usr/bin/env bash
# Checks a built herdgate .deb: unpacked into a scratch root (dpkg-deb -x) it has the expected
# files and control data, its binaries are for the right architecture and start (the arm64 ones
# under qemu-aarch64), the packaged config passes `herdgate --check-config`, and the systemd unit
# passes `systemd-analyze verify` with no warning at all.
# Usage: packaging/test-deb.sh <herdgate_*.deb> <amd64|arm64>
set -euo pipefail
deb=$1
arch=$2
root=$(mktemp -d /tmp/herdgate-deb-test.XXXXXX)
trap 'rm -rf "$root"' EXIT
failures=0
check() {  # check <description> <command...>
  local what=$1
  shift
  if "$@" >/dev/null 2>&1; then echo "  ok    $what"; else echo "  FAIL  $what"; failures=$((failures + 1)); fi
}

echo "test-deb: $deb ($arch)"
dpkg-deb -x "$deb" "$root"
dpkg-deb -e "$deb" "$root/DEBIAN"
control="$root/DEBIAN/control"

for f in usr/bin/herdgate usr/bin/herd-events usr/lib/systemd/system/herdgate.service \
         etc/herdgate/herdgate.toml etc/herdgate/collars.csv usr/share/doc/herdgate/deployment.md; do
  check "has /$f" test -s "$root/$f"
done
check "Package: herdgate" grep -qx 'Package: herdgate' "$control"
check "Architecture: $arch" grep -qx "Architecture: $arch" "$control"
for dep in libsystemd0 librdkafka1 libsqlite3-0 libpaho-mqttpp3-1 libprotobuf32 passwd; do
  check "Depends on $dep" grep -q "^Depends:.*\b$dep\b" "$control"
done
check "conffile /etc/herdgate/herdgate.toml" grep -qx /etc/herdgate/herdgate.toml "$root/DEBIAN/conffiles"
check "conffile /etc/herdgate/collars.csv" grep -qx /etc/herdgate/collars.csv "$root/DEBIAN/conffiles"
for s in postinst prerm postrm; do
  check "$s is an executable sh script" sh -n "$root/DEBIAN/$s"
  check "$s is executable" test -x "$root/DEBIAN/$s"
done
check "postinst creates the herdgate system user" grep -q 'useradd --system' "$root/DEBIAN/postinst"

case $arch in
  amd64) want='x86-64' run=() ;;
  arm64) want='ARM aarch64' run=(qemu-aarch64 -L /) ;;
  *) echo "test-deb: unknown architecture $arch" >&2; exit 2 ;;
esac
for b in herdgate herd-events; do
  check "$b is an $want executable" grep -q "$want" <(file -L "$root/usr/bin/$b")
  check "$b is stripped" grep -q ', stripped' <(file -L "$root/usr/bin/$b")
  check "$b --help runs" "${run[@]}" "$root/usr/bin/$b" --help
done
# The packaged config as shipped, with its registry path pointed into the scratch root.
sed "s|/etc/herdgate/collars.csv|$root/etc/herdgate/collars.csv|" "$root/etc/herdgate/herdgate.toml" > "$root/check.toml"
check "the packaged config passes herdgate --check-config" "${run[@]}" "$root/usr/bin/herdgate" --config "$root/check.toml" --check-config

# dpkg itself unpacks it into an empty root (maintainer scripts need a real system: not run).
droot="$root/dpkg-root"
mkdir -p "$droot/var/lib/dpkg/info" "$droot/var/lib/dpkg/updates" "$droot/var/lib/dpkg/triggers"
touch "$droot/var/lib/dpkg/status"
check "dpkg --root unpacks it" dpkg --root="$droot" --force-architecture --force-depends --unpack "$deb"
check "dpkg registered its conffiles" grep -qx /etc/herdgate/herdgate.toml "$droot/var/lib/dpkg/info/herdgate.conffiles"
check "dpkg installed /usr/bin/herdgate" test -x "$droot/usr/bin/herdgate"

unit="$root/usr/lib/systemd/system/herdgate.service"
for key in Type=notify WatchdogSec= Restart=always User=herdgate StateDirectory=herdgate ProtectSystem=strict \
           ProtectHome=yes NoNewPrivileges=yes PrivateTmp=yes MemoryMax= TasksMax=; do
  check "unit has $key" grep -q "^$key" "$unit"
done
# systemd-analyze verify needs the units the service depends on and the programs it runs inside
# the root: the host's unit files, /bin/kill.
cp -an /usr/lib/systemd/system/. "$root/usr/lib/systemd/system/"
[[ -e "$root/bin" ]] || ln -s usr/bin "$root/bin"
cp /usr/bin/kill "$root/usr/bin/kill"
verify_out=$(systemd-analyze verify --root="$root" "$unit" 2>&1) && verify_rc=0 || verify_rc=$?
check "systemd-analyze verify passes" test "$verify_rc" -eq 0
check "systemd-analyze verify has nothing to say" test -z "$verify_out"
[[ -z "$verify_out" ]] || echo "$verify_out" | sed 's/^/        /'

if ((failures)); then
  echo "test-deb: $failures failed"
  exit 1
fi
echo "test-deb: all checks passed"
