# zone2geoip.awk: converts an RFC 1035 master file into the "records:" block of a PowerDNS
# geoip backend zones file (YAML), so that the geoip backend serves the same static data as the
# zone file. POSIX awk (mawk, gawk, busybox awk).
#
#   awk -v origin=example.net. -f zone2geoip.awk example.net.zone
#
# Output: one YAML key per owner name (indented 4 spaces, for "records:" under a domain entry
# of "domains:"), each with its records as "- type: {content: '...', ttl: N}".
#
# Handles what zones/example.net.zone uses and a little more: $ORIGIN, $TTL, comments,
# ( ... ) spanning lines, blank owners (the previous owner), "@", relative names (owners and
# the name fields of NS, CNAME, DNAME, PTR, MX, SRV, SOA), optional TTL (with s/m/h/d/w units)
# and class in either order, quoted strings. Not handled (the script fails loudly): $INCLUDE,
# $GENERATE, classes other than IN.

function die(msg) {
	print "zone2geoip.awk: " FILENAME ":" FNR ": " msg > "/dev/stderr"
	failed = 1
	exit 1
}

# strip a comment (";" outside double quotes)
function uncomment(s,    i, c, q, out) {
	q = 0; out = ""
	for (i = 1; i <= length(s); i++) {
		c = substr(s, i, 1)
		if (c == "\\" && q) { out = out c substr(s, i + 1, 1); i++; continue }
		if (c == "\"") q = !q
		if (c == ";" && !q) break
		out = out c
	}
	return out
}

# count "(" and ")" outside quotes; sets PAREN_DELTA and returns s without them
function deparen(s,    i, c, q, out) {
	q = 0; out = ""; PAREN_DELTA = 0
	for (i = 1; i <= length(s); i++) {
		c = substr(s, i, 1)
		if (c == "\\" && q) { out = out c substr(s, i + 1, 1); i++; continue }
		if (c == "\"") q = !q
		if (!q && c == "(") { PAREN_DELTA++; out = out " "; continue }
		if (!q && c == ")") { PAREN_DELTA--; out = out " "; continue }
		out = out c
	}
	return out
}

# split s into TOK[1..n] on blanks, keeping "quoted strings" whole; returns n
function tokenize(s,    i, c, q, cur, n, have) {
	n = 0; q = 0; cur = ""; have = 0
	for (i = 1; i <= length(s); i++) {
		c = substr(s, i, 1)
		if (c == "\\" && q) { cur = cur c substr(s, i + 1, 1); i++; continue }
		if (c == "\"") { q = !q; cur = cur c; have = 1; continue }
		if (!q && (c == " " || c == "\t")) {
			if (have) { TOK[++n] = cur; cur = ""; have = 0 }
			continue
		}
		cur = cur c; have = 1
	}
	if (q) die("unterminated quoted string")
	if (have) TOK[++n] = cur
	return n
}

function absname(n) {
	if (n == "@") return origin
	if (n ~ /\.$/) return n
	if (origin == ".") return n "."
	return n "." origin
}

function is_ttl(t) { return t ~ /^[0-9]+[sSmMhHdDwW]?([0-9]+[sSmMhHdDwW])*$/ }

function ttl_secs(t,    total, num, c, i, u) {
	total = 0; num = ""
	for (i = 1; i <= length(t); i++) {
		c = substr(t, i, 1)
		if (c ~ /[0-9]/) { num = num c; continue }
		u = tolower(c)
		total += num * (u == "s" ? 1 : u == "m" ? 60 : u == "h" ? 3600 : u == "d" ? 86400 : 604800)
		num = ""
	}
	if (num != "") total += num
	return total
}

function yq(s) { gsub(/'/, "''", s); return "'" s "'" }

function nodot(n) { if (n != "." ) sub(/\.$/, "", n); return n }

function record(line,    n, i, owner, ttl, type, rd, f, nf, j, key) {
	n = tokenize(line)
	if (n == 0) return
	i = 1
	if (line ~ /^[ \t]/) {
		if (last_owner == "") die("record without an owner")
		owner = last_owner
	} else {
		owner = absname(TOK[1]); i = 2
	}
	last_owner = owner
	ttl = default_ttl
	# [ttl] [class] or [class] [ttl]
	for (j = 0; j < 2 && i <= n; j++) {
		if (is_ttl(TOK[i])) { ttl = ttl_secs(TOK[i]); i++; continue }
		if (toupper(TOK[i]) == "IN") { i++; continue }
		if (toupper(TOK[i]) ~ /^(CH|HS|CS|ANY)$/) die("class " TOK[i] " not supported")
	}
	if (i > n) die("no type")
	type = toupper(TOK[i]); i++
	if (ttl == "") die("no TTL and no $TTL")
	nf = 0
	for (; i <= n; i++) f[++nf] = TOK[i]
	if (type == "NS" || type == "CNAME" || type == "DNAME" || type == "PTR") f[1] = absname(f[1])
	else if (type == "MX") f[2] = absname(f[2])
	else if (type == "SRV") f[4] = absname(f[4])
	else if (type == "SOA") { f[1] = absname(f[1]); f[2] = absname(f[2]) }
	rd = ""
	for (j = 1; j <= nf; j++) rd = rd (j > 1 ? " " : "") f[j]
	key = nodot(owner)
	if (!(key in seen)) { seen[key] = 1; order[++owners] = key }
	recs[key] = recs[key] "      - " tolower(type) ": {content: " yq(rd) ", ttl: " ttl "}\n"
}

BEGIN {
	if (origin == "") origin = "."
	if (origin !~ /\.$/) origin = origin "."
	default_ttl = ""; last_owner = ""; pending = ""; depth = 0; owners = 0; failed = 0
}

{
	line = uncomment($0)
	if (depth > 0) {
		line = deparen(line); depth += PAREN_DELTA
		pending = pending " " line
		if (depth > 0) next
		line = pending; pending = ""
		record(line)
		next
	}
	if (line ~ /^[ \t]*$/) next
	if (line ~ /^\$/) {
		tokenize(line)
		d = toupper(TOK[1])
		if (d == "$ORIGIN") { origin = absname(TOK[2]); next }
		if (d == "$TTL") { default_ttl = ttl_secs(TOK[2]); next }
		die(TOK[1] " not supported")
	}
	line = deparen(line)
	if (PAREN_DELTA > 0) { depth = PAREN_DELTA; pending = line; next }
	record(line)
}

END {
	if (failed) exit 1
	if (depth > 0) { print "zone2geoip.awk: unbalanced parentheses" > "/dev/stderr"; exit 1 }
	for (k = 1; k <= owners; k++) {
		printf "    %s:\n%s", yq(order[k]), recs[order[k]]
	}
}
