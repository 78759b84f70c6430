#!/bin/sh
# verify.sh PORT [NAME]: asks a server on 127.0.0.1:PORT the benchmark's questions (www per
# client of the GeoIP2 test fixture plugin/georoute/testdata/geoip2-city.mmdb, with and without
# ECS, static names, a wildcard, a CNAME to www, a referral, an NXDOMAIN, an out-of-zone name)
# and prints one Markdown table row per question: status, answer (TTL), ECS echoed back.
set -u
port=${1:?usage: verify.sh PORT [NAME]}
name=${2:-server}

# label|qname|qtype|ECS subnet ("" = none)
questions='London 81.2.69.0/24|www.example.net|A|81.2.69.0/24
Mountain View 8.8.8.0/24|www.example.net|A|8.8.8.0/24
Sydney 1.1.1.0/24|www.example.net|A|1.1.1.0/24
Tokyo 126.0.0.0/8|www.example.net|A|126.0.0.0/8
Sao Paulo 200.160.0.0/16|www.example.net|A|200.160.0.0/16
Johannesburg 41.0.0.0/11|www.example.net|A|41.0.0.0/11
Singapore 103.1.0.0/16|www.example.net|A|103.1.0.0/16
New York 24.0.0.0/12|www.example.net|A|24.0.0.0/12
Berlin 85.214.0.0/16|www.example.net|A|85.214.0.0/16
not in the db 192.0.2.0/24|www.example.net|A|192.0.2.0/24
no ECS (source 127.0.0.1)|www.example.net|A|
London 2a02:c7f::/32|www.example.net|AAAA|2a02:c7f::/32
Sydney 2400:cb00::/32|www.example.net|AAAA|2400:cb00::/32
Tokyo (v4 ECS) AAAA|www.example.net|AAAA|126.0.0.0/8
CNAME to www, Sydney|api.example.net|A|1.1.1.0/24
www TXT, London|www.example.net|TXT|81.2.69.0/24
static A, London|status.example.net|A|81.2.69.0/24
static A|mail.example.net|A|
wildcard|x.dev.example.net|A|
SRV|_sip._tcp.example.net|SRV|
apex MX|example.net|MX|
apex CAA|example.net|CAA|
apex SOA|example.net|SOA|
referral|host.lab.example.net|A|
NXDOMAIN, London|nope.example.net|A|81.2.69.0/24
NODATA|mail.example.net|AAAA|
out of zone|example.com|A|'

echo "| $name: question | status | answer (TTL) | ECS back |"
echo "|---|---|---|---|"
printf '%s\n' "$questions" | while IFS='|' read -r label qname qtype ecs; do
	if [ -n "$ecs" ]; then set -- "+subnet=$ecs"; else set --; fi
	dig @127.0.0.1 -p "$port" "$qname" "$qtype" +time=2 +tries=1 +norecurse "$@" 2>&1 |
		awk -v label="$label" '
		/status:/ { s = $0; sub(/.*status: /, "", s); sub(/,.*/, "", s); status = s }
		/^;; flags:/ { f = $0; sub(/^;; flags: /, "", f); sub(/;.*/, "", f); aa = (f ~ /aa/) ? "" : " (no aa)" }
		/CLIENT-SUBNET:/ { ecs = $3 }
		/^;; ANSWER SECTION:/ { sec = "an"; next }
		/^;; AUTHORITY SECTION:/ { sec = "au"; next }
		/^;; ADDITIONAL SECTION:/ { sec = "ad"; next }
		/^;; / || /^$/ { if ($0 ~ /^$/) sec = ""; next }
		/^;/ { next }
		sec == "an" { r = ""; for (i = 5; i <= NF; i++) r = r (i > 5 ? " " : "") $i; ans = ans (ans == "" ? "" : ", ") ($4 == "A" || $4 == "AAAA" ? "" : $4 " ") r " (" $2 ")" }
		sec == "au" && $4 == "NS" && aa != "" { ans = ans (ans == "" ? "" : ", ") "referral NS " $5 }
		/connection timed out|communications error|no servers could be reached/ { status = "TIMEOUT" }
		END {
			if (ans == "") ans = "-"
			if (ecs == "") ecs = "-"
			printf "| %s | %s%s | %s | %s |\n", label, status, aa, ans, ecs
		}'
done
