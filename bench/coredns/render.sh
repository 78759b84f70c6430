#!/usr/bin/env bash
# render.sh RUNDIR PORT MMDB ZONEFILE CONFIG: writes the stock CoreDNS and appliance Corefiles
# of the benchmark into RUNDIR (see README.md).
set -euo pipefail
dir=$1 port=$2 mmdb=$3 zone=$4 config=$5
mkdir -p "$dir/view"
cat > "$dir/file.corefile" <<COREFILE
example.net:$port {
    bind 127.0.0.1
    file $zone
}
COREFILE
# stock CoreDNS with the plugins every deployment has: errors and metrics around file
cat > "$dir/efp.corefile" <<COREFILE
example.net:$port {
    bind 127.0.0.1
    errors
    file $zone
    prometheus 127.0.0.1:0
}
COREFILE

# continent -> the edge nearest to it (addresses as in georoute.yaml)
declare -A v4=([AF]=203.0.113.40 [AS]=203.0.113.20 [EU]=192.0.2.10 [NA]=198.51.100.10 [OC]=203.0.113.30 [SA]=203.0.113.10 [default]=198.51.100.10)
declare -A v6=([AF]=2001:db8:60::1 [AS]=2001:db8:40::1 [EU]=2001:db8:10::1 [NA]=2001:db8:20::1 [OC]=2001:db8:50::1 [SA]=2001:db8:30::1 [default]=2001:db8:20::1)
: > "$dir/view.corefile"
for c in AF AS EU NA OC SA default; do
  cp "$zone" "$dir/view/$c.zone"
  printf 'www 30 IN A %s\nwww 30 IN AAAA %s\n' "${v4[$c]}" "${v6[$c]}" >> "$dir/view/$c.zone"
  {
    echo "example.net:$port {"
    if [[ $c != default ]]; then
      echo "    view $c {"
      echo "        expr metadata('geoip/continent/code') == '$c'"
      echo "    }"
    fi
    echo "    bind 127.0.0.1"
    echo "    geoip $mmdb {"
    echo "        edns-subnet"
    echo "    }"
    echo "    metadata"
    echo "    file $dir/view/$c.zone example.net"
    echo "}"
  } >> "$dir/view.corefile"
done

cat > "$dir/ours.corefile" <<COREFILE
example.net:$port {
    bind 127.0.0.1
    healthprobe
    georoute {
        zones $zone
        config $config
        geoip $mmdb
        reload 0
    }
}
COREFILE

# corefile.example as it is, but for its addresses: DNS on PORT (127.0.0.1 only), health on
# PORT+10 (it asks itself every second), the APIs, metrics and ready on ports the kernel picks,
# the store in RUNDIR. Run from the repository's root (its paths are relative), with the
# GEOROUTE_* secrets it names in the environment. deployed-2s is the same with two sockets.
example=$(dirname "$0")/../../corefile.example
sed -e "s|^\.:1053 {|.:$port {|" -e 's|bind 127.0.0.1 ::1|bind 127.0.0.1|' \
    -e "s|health 127.0.0.1:[0-9]*|health 127.0.0.1:$((port + 10))|" -e 's|127\.0\.0\.1:80[0-9][0-9]|127.0.0.1:0|g' \
    -e 's|127\.0\.0\.1:9153|127.0.0.1:0|' -e 's|127\.0\.0\.1:8181|127.0.0.1:0|' \
    -e "s|store var/georoute.db|store $dir/deployed.db|" "$example" > "$dir/deployed.corefile"
if grep -q "^    multisocket$" "$dir/deployed.corefile"; then
  sed 's|^    multisocket$|    multisocket 2|' "$dir/deployed.corefile" > "$dir/deployed-2s.corefile"
else
  echo "render.sh: corefile.example has no multisocket line: no deployed-2s.corefile" >&2
  rm -f "$dir/deployed-2s.corefile"
fi
