# servers.sh: start gdnsd and PowerDNS on a loopback port, serving zones/example.net.zone with a
# geo-routed www.example.net, for the benchmark. Source it (bash, dash or any POSIX sh):
#
#   . bench/servers/servers.sh          # bash finds its own folder; other shells: set SERVERS_DIR
#   pid=$(SERVER_PREFIX="taskset -c 0" start_gdnsd 5301 /tmp/bench/run /path/City.mmdb)
#   wait_dns 5301 "$pid" || exit 1
#   ...                                  # dnsperf -s 127.0.0.1 -p 5301 ...
#   stop_server "$pid"
#
# start_gdnsd PORT DIR MMDB       gdnsd + plugin_geoip, nearest edge by distance (auto_dc_coords)
# start_pdns_geoip PORT DIR MMDB  pdns_server, geoip backend: the edge nearest the client's continent
# start_pdns_lua PORT DIR MMDB    pdns_server, bind backend + LUA records (geoip backend for GeoIP)
#   Render the templates of this folder into DIR/<server>/ (DIR is created; files there are
#   overwritten), start the server in the background in its foreground mode, listening on
#   127.0.0.1:PORT (UDP and TCP) only, and print its PID. The server's output goes to
#   DIR/<server>/<server>.log, so pid=$(start_...) returns at once. With pid=$(...) the server
#   is not a child of the calling shell: stop it with stop_server (or kill), not wait.
# wait_dns PORT [PID]             wait (WAIT_DNS_TIMEOUT seconds, default 20) until
#   dig @127.0.0.1 -p PORT www.example.net A answers with an address; returns 1 on timeout or,
#   with PID, as soon as that process is gone.
# stop_server PID                 SIGTERM, then SIGKILL after 10 s; waits until PID is gone.
#
# Environment:
#   SERVER_PREFIX    command words put before the server, e.g. "taskset -c 0" (taskset execs the
#                    server, so the printed PID is the server's). Default: none.
#   ZONEFILE         the zone to serve; default zones/example.net.zone of this repository.
#                    Its origin must be example.net.
#   PDNS_LUA_PICK    start_pdns_lua: "distance" (default; nearest edge by great-circle distance,
#                    computed in Lua from latlon()) or "continent" (continentCode() map, like the
#                    geoip backend instance).
#   PDNS_LUA_RECORDS start_pdns_lua: enable-lua-records value, "yes" (default) or "shared".
#   SERVERS_DIR      this folder; found automatically when sourced from bash.

if [ -z "${SERVERS_DIR:-}" ]; then
	if [ -n "${BASH_SOURCE:-}" ]; then
		SERVERS_DIR=$(cd "$(dirname "$BASH_SOURCE")" && pwd)
	elif [ -f "$(dirname "$0")/servers.sh" ] && [ -d "$(dirname "$0")/gdnsd" ]; then
		SERVERS_DIR=$(cd "$(dirname "$0")" && pwd)
	fi
fi

_sv_err() { echo "servers.sh: $*" >&2; }

# _sv_path VALUE NAME: refuse characters the templates and sed cannot carry unquoted.
_sv_path() {
	case $1 in
	'' | *[!A-Za-z0-9._/+,=:%@-]*)
		_sv_err "$2 '$1': use only letters, digits and . _ / + , = : % @ -"
		return 1 ;;
	esac
}

# _sv_prepare PORT DIR MMDB SUBDIR: checks the arguments; sets _sv_port, _sv_dir (absolute),
# _sv_mmdb (absolute), _sv_zone, _sv_out (DIR/SUBDIR, created).
_sv_prepare() {
	if [ $# -ne 4 ]; then _sv_err "usage: start_$4 PORT DIR MMDB"; return 1; fi
	if [ -z "${SERVERS_DIR:-}" ] || [ ! -f "$SERVERS_DIR/gdnsd/config" ]; then
		_sv_err "set SERVERS_DIR to the bench/servers folder"; return 1
	fi
	case $1 in '' | *[!0-9]*) _sv_err "port '$1' is not a number"; return 1 ;; esac
	if [ "$1" -lt 1 ] || [ "$1" -gt 65535 ]; then _sv_err "port $1 out of range"; return 1; fi
	_sv_port=$1
	_sv_path "$2" DIR || return 1
	mkdir -p "$2" || return 1
	_sv_dir=$(cd "$2" && pwd) || return 1
	_sv_path "$_sv_dir" DIR || return 1
	if [ ! -f "$3" ]; then _sv_err "no GeoIP database '$3'"; return 1; fi
	_sv_mmdb=$(cd "$(dirname "$3")" && pwd)/$(basename "$3")
	_sv_path "$_sv_mmdb" MMDB || return 1
	_sv_zone=${ZONEFILE:-$SERVERS_DIR/../../zones/example.net.zone}
	if [ ! -f "$_sv_zone" ]; then _sv_err "no zone file '$_sv_zone'"; return 1; fi
	_sv_out=$_sv_dir/$4
	mkdir -p "$_sv_out" || return 1
}

# _sv_render TEMPLATE OUTPUT [ZONEFILE [LUA_RECORDS]]
_sv_render() {
	sed -e "s|@PORT@|$_sv_port|g" -e "s|@DIR@|$_sv_dir|g" -e "s|@MMDB@|$_sv_mmdb|g" \
		-e "s|@ZONEFILE@|${3:-}|g" -e "s|@LUA_RECORDS@|${4:-}|g" "$1" >"$2"
}

start_gdnsd() {
	_sv_prepare "$@" gdnsd || return 1
	mkdir -p "$_sv_out/zones" || return 1
	_sv_render "$SERVERS_DIR/gdnsd/config" "$_sv_out/config" || return 1
	# gdnsd reads RFC 1035 files as they are: the zone file, plus www's DYNA record.
	cat "$_sv_zone" "$SERVERS_DIR/gdnsd/www.dyna" >"$_sv_out/zones/example.net" || return 1
	# "start": a regular foreground process, logging to stderr (no -D: debug logging is not
	# wanted under load; no daemonize).
	${SERVER_PREFIX:-} gdnsd -c "$_sv_out" start </dev/null >"$_sv_out/gdnsd.log" 2>&1 &
	echo $!
}

start_pdns_geoip() {
	_sv_prepare "$@" pdns-geoip || return 1
	_sv_render "$SERVERS_DIR/pdns-geoip/pdns.conf" "$_sv_out/pdns.conf" || return 1
	# zones.yaml: the template with the zone file's records in place of @STATIC_RECORDS@.
	awk -v origin=example.net. -f "$SERVERS_DIR/zone2geoip.awk" "$_sv_zone" \
		>"$_sv_out/static-records.yaml" || return 1
	awk -v f="$_sv_out/static-records.yaml" '
		$0 == "@STATIC_RECORDS@" { while ((getline l < f) > 0) print l; close(f); next }
		{ print }' "$SERVERS_DIR/pdns-geoip/zones.yaml" >"$_sv_out/zones.yaml.tmp" || return 1
	_sv_render "$_sv_out/zones.yaml.tmp" "$_sv_out/zones.yaml" || return 1
	rm -f "$_sv_out/zones.yaml.tmp"
	${SERVER_PREFIX:-} pdns_server --config-dir="$_sv_out" </dev/null >"$_sv_out/pdns.log" 2>&1 &
	echo $!
}

start_pdns_lua() {
	_sv_prepare "$@" pdns-lua || return 1
	_sv_pick=${PDNS_LUA_PICK:-distance}
	case $_sv_pick in distance | continent) ;; *) _sv_err "PDNS_LUA_PICK: distance or continent"; return 1 ;; esac
	_sv_lua=${PDNS_LUA_RECORDS:-yes}
	case $_sv_lua in yes | shared) ;; *) _sv_err "PDNS_LUA_RECORDS: yes or shared"; return 1 ;; esac
	cat "$_sv_zone" "$SERVERS_DIR/pdns-lua/www-$_sv_pick.lua.zone" >"$_sv_out/example.net.zone" || return 1
	_sv_render "$SERVERS_DIR/pdns-lua/named.conf" "$_sv_out/named.conf" "$_sv_out/example.net.zone" || return 1
	_sv_render "$SERVERS_DIR/pdns-lua/pdns.conf" "$_sv_out/pdns.conf" "" "$_sv_lua" || return 1
	${SERVER_PREFIX:-} pdns_server --config-dir="$_sv_out" </dev/null >"$_sv_out/pdns.log" 2>&1 &
	echo $!
}

wait_dns() {
	if [ $# -lt 1 ]; then _sv_err "usage: wait_dns PORT [PID]"; return 1; fi
	_sv_end=$(($(date +%s) + ${WAIT_DNS_TIMEOUT:-20}))
	while :; do
		_sv_ans=$(dig @127.0.0.1 -p "$1" www.example.net A +time=1 +tries=1 +short 2>/dev/null)
		case $_sv_ans in [0-9]*.*.*.*) return 0 ;; esac
		if [ -n "${2:-}" ] && ! kill -0 "$2" 2>/dev/null; then
			_sv_err "wait_dns: process $2 is gone (port $1)"; return 1
		fi
		if [ "$(date +%s)" -ge "$_sv_end" ]; then
			_sv_err "wait_dns: no answer on 127.0.0.1 port $1 after ${WAIT_DNS_TIMEOUT:-20} s"; return 1
		fi
		sleep 0.2
	done
}

# _sv_alive PID: the process exists and is not a zombie.
_sv_alive() {
	kill -0 "$1" 2>/dev/null || return 1
	if [ -r "/proc/$1/stat" ]; then
		case $(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null) in Z* | X*) return 1 ;; esac
	fi
	return 0
}

stop_server() {
	if [ $# -ne 1 ]; then _sv_err "usage: stop_server PID"; return 1; fi
	_sv_alive "$1" || { wait "$1" 2>/dev/null; return 0; }
	kill -TERM "$1" 2>/dev/null
	_sv_i=0
	while _sv_alive "$1"; do
		_sv_i=$((_sv_i + 1))
		if [ "$_sv_i" -eq 100 ]; then kill -KILL "$1" 2>/dev/null; fi
		if [ "$_sv_i" -ge 150 ]; then _sv_err "stop_server: $1 still running"; return 1; fi
		sleep 0.1
	done
	wait "$1" 2>/dev/null || true # not our child when started by a command substitution
	return 0
}
