#!/usr/bin/env bash
# bench-peers.sh runs scripts/ftpbench against ftpshare and four peers,
# pyftpdlib, vsftpd, proftpd and pure-ftpd, all from Debian's packages, on
# loopback with the same settings, and writes docs/benchmarks.md (the
# median of several rounds per row per server, and ftpshare's ratio to the
# best peer) with a bar chart, docs/benchmarks.svg.
#
# Needs: Debian 12, root, apt (Debian's packages only), Go. Run it from
# anywhere in the repository:
#
#	sudo scripts/bench-peers.sh
#
# Environment (defaults in brackets):
#	ROUNDS    rounds of the transfer/concurrency/login rows per server [4];
#	          round r runs every server in turn before round r+1 starts
#	SERVERS   servers to run ["pyftpdlib vsftpd proftpd pure-ftpd ftpshare"]
#	IDLE      idle session counts for the memory rows, run once per server [1000,10000]
#	CLIENTS   concurrent clients [300]
#	SIZE      file size for the concurrent RETR/STOR rows [10M]
#	DURATION  single-stream transfer window [1s]
#	BUDGET    most time one batch of connects or logins may take [20s]
#	FTPS      rounds of the FTPS rows (TLS on), interleaved like ROUNDS; 0 skips them [3]
#	BENCH_DIR work directory: packages, extracted peers, data, logs [/tmp/ftpbench-peers]
#	NICE      niceness for servers and client, to damp other load on the machine [-5]
#	WARM      GiB of memory to touch once before the run (see "memory" below) [12]
#	OUT_MD, OUT_SVG  where the results go [docs/benchmarks.md, docs/benchmarks.svg]
#
# The vsftpd, proftpd and pure-ftpd packages conflict with one another, so
# they are not installed: apt-get download + dpkg -x into BENCH_DIR, with
# whatever libraries they need that the machine lacks, found by following
# their Depends, and run with LD_LIBRARY_PATH pointing there. They log in a
# throwaway system user, created here and removed on exit.
set -euo pipefail

START=$SECONDS
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
# The exact command, with the settings given in the environment.
COMMAND="scripts/bench-peers.sh${*:+ $*}"
for v in ROUNDS SERVERS IDLE CLIENTS SIZE DURATION BUDGET FTPS BENCH_DIR NICE WARM; do
	[[ -v $v ]] && COMMAND="$v=\"${!v}\" $COMMAND"
done
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PEERS=$REPO/scripts/peers

# The defaults keep the whole run under 15 minutes on a fresh 2-core
# machine: with 5 rounds and a 30 s budget it took 15 min 14 s on an AMD
# EPYC VM with the packages already fetched. The forking servers spend
# most of it: proftpd takes 33 s a round (pyftpdlib 15, ftpshare 8), and
# each of them fills the whole budget trying to open 10,000 sessions.
ROUNDS=${ROUNDS:-4}
SERVERS=${SERVERS:-"pyftpdlib vsftpd proftpd pure-ftpd ftpshare"}
IDLE=${IDLE:-1000,10000}
CLIENTS=${CLIENTS:-300}
SIZE=${SIZE:-10M}
DURATION=${DURATION:-1s}
BUDGET=${BUDGET:-20s}
FTPS=${FTPS:-3}
BENCH_DIR=${BENCH_DIR:-/tmp/ftpbench-peers}
NICE=${NICE:--5}
WARM=${WARM:-12}
OUT_MD=${OUT_MD:-$REPO/docs/benchmarks.md}
OUT_SVG=${OUT_SVG:-$REPO/docs/benchmarks.svg}

# System account for the peers that log in system users (vsftpd through
# PAM, proftpd and pure-ftpd through /etc/shadow).
SYS_USER=ftpbench
SYS_PASS=bench

DEBS=$BENCH_DIR/debs
ROOT=$BENCH_DIR/root
DATA=$BENCH_DIR/data
RUN=$BENCH_DIR/run
RESULTS=$BENCH_DIR/results
TLS_DIR=$BENCH_DIR/tls
LIBPATH=$ROOT/usr/lib/x86_64-linux-gnu:$ROOT/lib/x86_64-linux-gnu
PY=/usr/bin/python3

log() { printf '==> %s\n' "$*" >&2; }
die() {
	printf 'bench-peers: %s\n' "$*" >&2
	exit 1
}

[[ $(id -u) == 0 ]] || die "run as root (the peers need a system user and privileged setup)"
command -v go >/dev/null || die "go not found"

# 10,000 idle sessions need 10,000 descriptors in the client and in the
# server; every process started from here inherits the limit.
ulimit -n 1048576 2>/dev/null || ulimit -n 200000 2>/dev/null || ulimit -n "$(ulimit -Hn)"
(($(ulimit -n) >= 10100)) || log "warning: only $(ulimit -n) file descriptors; the 10,000-session row will fall short"

# ---------------------------------------------------------------- cleanup

SERVER_PID=
CREATED_USER=
REPORTING_ORDER=
cleanup() {
	stop_server
	if [[ -n $CREATED_USER ]]; then
		userdel "$SYS_USER" 2>/dev/null || true
	fi
	rm -rf "${DATA:?}"
	if [[ -n $REPORTING_ORDER ]]; then
		echo "$REPORTING_ORDER" >"$REPORTING_PARAM" 2>/dev/null || true
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# kill_tree PID: end PID and every descendant (forking servers leave a
# process per session), all found in one snapshot of the process table so
# thousands of session processes cost one ps, not one each.
kill_tree() {
	local pids
	pids=$(ps -eo pid=,ppid= | awk -v root="$1" '
		{ parent[$1] = $2 }
		END {
			for (p in parent) {
				q = p
				while (q in parent && q != root && q > 1) q = parent[q]
				if (q == root) print p
			}
		}')
	# shellcheck disable=SC2086
	kill -TERM $pids 2>/dev/null || true
}

stop_server() {
	[[ -n $SERVER_PID ]] || return 0
	kill_tree "$SERVER_PID"
	for _ in $(seq 50); do
		kill -0 "$SERVER_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$SERVER_PID" 2>/dev/null || true
	wait "$SERVER_PID" 2>/dev/null || true
	SERVER_PID=
	# Session processes of a forking server may outlive their parent by a
	# moment; wait for them to go so the next server starts on a quiet box.
	for _ in $(seq 100); do
		pgrep -u "$SYS_USER" >/dev/null 2>&1 || break
		sleep 0.1
	done
}

# ---------------------------------------------------------------- packages

apt_install() {
	local missing=()
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
	done
	((${#missing[@]})) || return 0
	log "apt-get install ${missing[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >"$BENCH_DIR/apt.log" 2>&1 ||
		die "apt-get install ${missing[*]} failed; see $BENCH_DIR/apt.log"
}

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

# fetch_debs PKG...: download and extract the packages, and every library
# package they depend on (transitively) that is not installed.
fetch_debs() {
	local queue=("$@") seen=" " p deps d
	while ((${#queue[@]})); do
		p=${queue[0]}
		queue=("${queue[@]:1}")
		[[ $seen == *" $p "* ]] && continue
		seen+="$p "
		if ! compgen -G "$DEBS/${p}_*.deb" >/dev/null; then
			(cd "$DEBS" && apt-get download -q -o APT::Sandbox::User=root "$p" >>"$BENCH_DIR/apt.log" 2>&1) ||
				die "apt-get download $p failed; see $BENCH_DIR/apt.log"
		fi
		dpkg -x "$(compgen -G "$DEBS/${p}_*.deb" | head -1)" "$ROOT"
		deps=$(apt-cache depends --no-recommends --no-suggests --no-conflicts --no-breaks \
			--no-replaces --no-enhances "$p" | awk '/^ *\|?(Pre)?Depends: [^<]/ {print $2}' | sed 's/:any$//' | grep '^lib' || true)
		for d in $deps; do
			installed "$d" || queue+=("$d")
		done
	done
}

check_libs() {
	local bin=$1 missing
	missing=$(LD_LIBRARY_PATH=$LIBPATH ldd "$bin" 2>&1 | grep 'not found' || true)
	[[ -z $missing ]] || {
		log "$bin lacks libraries: $missing"
		return 1
	}
}

version_of() { dpkg-deb -f "$(compgen -G "$DEBS/${1}_*.deb" | head -1)" Version 2>/dev/null || echo "?"; }

# ---------------------------------------------------------------- servers

# Each server has its own control port, so a slow teardown of one never
# collides with the next. They run one at a time and share one passive
# range, below the kernel's ephemeral ports (32768 up) so client sockets
# never hold a passive port. It is this wide because pure-ftpd caps its
# clients at half its passive range, and the memory rows hold 10,000
# sessions while the latency probes log in and out beside them.
declare -A PORT=([pyftpdlib]=2131 [vsftpd]=2132 [proftpd]=2133 [pure-ftpd]=2134 [ftpshare]=2135)
PASV_MIN=8000
PASV_MAX=32767

user_of() { case $1 in vsftpd | proftpd | pure-ftpd) echo "$SYS_USER" ;; *) echo bench ;; esac }
pass_of() { case $1 in vsftpd | proftpd | pure-ftpd) echo "$SYS_PASS" ;; *) echo bench ;; esac }

fill_template() { # fill_template SRC DST SERVER TLS(YES/NO)
	sed -e "s|@PORT@|${PORT[$3]}|g" -e "s|@DATA@|$DATA|g" -e "s|@PASV_MIN@|$PASV_MIN|g" -e "s|@PASV_MAX@|$PASV_MAX|g" \
		-e "s|@RUN@|$RUN|g" -e "s|@MODDIR@|$ROOT/usr/lib/proftpd|g" -e "s|@TLS@|$4|g" \
		-e "s|@CERT@|$TLS_DIR/cert.pem|g" -e "s|@KEY@|$TLS_DIR/key.pem|g" "$1" >"$2"
}

# start_server NAME TLS(0/1): start in the background, set SERVER_PID to
# the server's own PID (every wrapper here execs), wait for a login.
start_server() {
	local s=$1 tls=$2 p=${PORT[$1]} logf=$RUN/$1.log
	local -a cmd
	case $s in
	pyftpdlib)
		cmd=("$PY" "$PEERS/pyftpdlib_server.py" "$p" "$DATA" "$PASV_MIN" "$PASV_MAX")
		((tls)) && cmd+=("$TLS_DIR/both.pem")
		;;
	vsftpd)
		fill_template "$PEERS/vsftpd.conf" "$RUN/vsftpd.conf" vsftpd "$( ((tls)) && echo YES || echo NO)"
		cmd=("$ROOT/usr/sbin/vsftpd" "$RUN/vsftpd.conf")
		;;
	proftpd)
		fill_template "$PEERS/proftpd.conf" "$RUN/proftpd.conf" proftpd x
		cmd=("$ROOT/usr/sbin/proftpd" -n -q -c "$RUN/proftpd.conf")
		((tls)) && cmd+=(-D TLS)
		;;
	pure-ftpd)
		# -c/-C: clients in all and per IP; -H: no reverse DNS; -E: no
		# anonymous; -l unix: /etc/shadow; -f none: no syslog; -I: idle
		# minutes; -u 1: any non-root uid; -Y 1: TLS optional.
		cmd=("$ROOT/usr/sbin/pure-ftpd" -S "127.0.0.1,$p" -p "$PASV_MIN:$PASV_MAX" -c 30000 -C 30000
			-H -E -4 -l unix -f none -I 60 -u 1)
		((tls)) && cmd+=(-Y 1 -2 "$TLS_DIR/cert.pem,$TLS_DIR/key.pem")
		;;
	ftpshare)
		[[ -x $BENCH_DIR/ftpshare ]] || {
			log "SKIP ftpshare: it did not build (see $RUN/ftpshare-build.log)"
			return 1
		}
		cmd=("$BENCH_DIR/ftpshare" --bind 127.0.0.1 --port "$p" --user bench:bench
			--passive-ports "$PASV_MIN-$PASV_MAX" --max-conns 0 --max-conns-per-ip 0 --idle-timeout 1h --quiet)
		((tls)) && cmd+=(--cert "$TLS_DIR/cert.pem" --key "$TLS_DIR/key.pem")
		cmd+=("$DATA")
		;;
	esac
	rm -rf "${DATA:?}"/*
	# vsftpd reports startup errors on descriptor 0, hence the read-write
	# redirection of stdin to the log.
	# shellcheck disable=SC2094
	nice -n "$NICE" env LD_LIBRARY_PATH="$LIBPATH" "${cmd[@]}" 0<>"$logf" >>"$logf" 2>&1 &
	SERVER_PID=$!
	for _ in $(seq 100); do
		if ! kill -0 "$SERVER_PID" 2>/dev/null; then
			wait "$SERVER_PID" 2>/dev/null || true
			SERVER_PID=
			log "SKIP $s: it exited at startup: $(tail -c 400 "$logf" | tr '\n' ' ')"
			return 1
		fi
		if "$BENCH_DIR/ftpbench" -check -port "$p" -user "$(user_of "$s")" -pass "$(pass_of "$s")" -timeout 2s 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	log "SKIP $s: no login accepted within 10s: $(tail -c 400 "$logf" | tr '\n' ' ')"
	stop_server
	return 1
}

bench() { # bench SERVER OUTFILE ftpbench-flags...
	local s=$1 out=$2
	shift 2
	# Dirty pages the last server left are written back now, not during
	# this one's rows.
	sync
	if ! nice -n "$NICE" "$BENCH_DIR/ftpbench" -name "$s" -port "${PORT[$s]}" -user "$(user_of "$s")" -pass "$(pass_of "$s")" \
		-clients "$CLIENTS" -size "$SIZE" -duration "$DURATION" -budget "$BUDGET" -sync -json "$@" \
		>"$out.tmp" 2>>"$RUN/ftpbench-$s.log"; then
		log "ftpbench failed against $s: $(tail -3 "$RUN/ftpbench-$s.log" | tr '\n' ' ')"
		rm -f "$out.tmp"
		return 1
	fi
	mv "$out.tmp" "$out"
}

# ---------------------------------------------------------------- setup

mkdir -p "$DEBS" "$ROOT" "$DATA" "$RUN" "$TLS_DIR"
rm -rf "$RESULTS" "${RUN:?}"/*
mkdir -p "$RESULTS" "$RUN/vsftpd-empty"

if ! apt-cache show vsftpd >/dev/null 2>&1; then
	log "apt-get update"
	apt-get update -q >"$BENCH_DIR/apt.log" 2>&1 || die "apt-get update failed"
fi
apt_install iperf3 gnuplot-nox python3-pyftpdlib python3-openssl openssl procps
log "fetching vsftpd, proftpd-core (+ mod-crypto for mod_tls), pure-ftpd and the libraries they need"
fetch_debs vsftpd proftpd-core proftpd-mod-crypto pure-ftpd

log "building ftpbench and ftpshare"
(cd "$REPO" && go build -o "$BENCH_DIR/ftpbench" ./scripts/ftpbench) || die "ftpbench does not build"
rm -f "$BENCH_DIR/ftpshare"
(cd "$REPO" && go build -o "$BENCH_DIR/ftpshare" .) >"$RUN/ftpshare-build.log" 2>&1 ||
	log "ftpshare does not build; it will be skipped (see $RUN/ftpshare-build.log)"

# One certificate for every server, so TLS handshakes cost the same:
# ECDSA P-256, what ftpshare's own self-signed certificates use.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=localhost \
	-keyout "$TLS_DIR/key.pem" -out "$TLS_DIR/cert.pem" 2>/dev/null
cat "$TLS_DIR/cert.pem" "$TLS_DIR/key.pem" >"$TLS_DIR/both.pem"

if ! id "$SYS_USER" >/dev/null 2>&1; then
	useradd -M -d "$DATA" -s /bin/sh "$SYS_USER"
	CREATED_USER=1
fi
# MD5-crypt, the cheapest hash crypt(3) offers: Debian's default yescrypt
# costs ~80 ms a login, which would measure the hash, not the server.
# pyftpdlib and ftpshare compare the password in memory.
echo "$SYS_USER:$SYS_PASS" | chpasswd -c MD5
chmod 0777 "$DATA"

# ---------------------------------------------------------------- memory

# On a virtual machine whose balloon device has free page reporting
# (Firecracker, QEMU with free-page-reporting=on), memory the guest frees
# goes back to the host, and the guest's next touch of it costs a host page
# fault: 2.5-8 us a page here, against 1.3 us for memory the guest already
# holds. Every uploaded byte lands in fresh page cache, so the STOR rows
# then measured the hypervisor: 300 x STOR 10 MB of one server moved
# between 2.9 and 7.1 s from round to round. For the run, reporting is
# switched off (restored on exit) and WARM GiB are touched once, so every
# server writes into memory the guest already holds.
REPORTING_PARAM=/sys/module/page_reporting/parameters/page_reporting_order
if [[ -w $REPORTING_PARAM ]]; then
	REPORTING_ORDER=$(cat "$REPORTING_PARAM")
	# Blocks above the largest page order are never reported.
	echo 11 >"$REPORTING_PARAM" 2>/dev/null || REPORTING_ORDER=
	[[ -n $REPORTING_ORDER ]] && log "free page reporting off for the run (page_reporting_order $REPORTING_ORDER -> 11)"
fi
avail_gib=$(awk '/^MemAvailable:/ {print int($2 / 1048576)}' /proc/meminfo)
WARM_GIB=$((WARM < avail_gib - 4 ? WARM : avail_gib - 4))
if ((WARM_GIB > 0)); then
	log "touching $WARM_GIB GiB once"
	"$PY" -c '
import mmap, sys
n = int(sys.argv[1]) << 30
m = mmap.mmap(-1, n)
z = bytes(64 << 20)
for _ in range(n // len(z)):
    m.write(z)
' "$WARM_GIB" || log "warm-up failed; the first server may pay for fresh memory"
fi

# ---------------------------------------------------------------- loopback ceiling

# One 3-second single stream, with ftpbench's 1 MiB buffers. It is sampled
# before each server too, and the median taken, so a burst of other load
# on the machine does not skew the one number every server's RETR is
# compared with.
CEILING_SAMPLES=()
sample_ceiling() {
	local pid json='' mbps=''
	iperf3 -s -1 -B 127.0.0.1 -p 5299 >/dev/null 2>&1 &
	pid=$!
	# The server may take a moment to listen on a busy machine.
	for _ in 1 2 3 4 5; do
		sleep 0.2
		json=$(nice -n "$NICE" iperf3 -c 127.0.0.1 -p 5299 -Z -l 1M -t 3 -J 2>/dev/null) && break
		json=
	done
	kill "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	if [[ -n $json ]]; then
		mbps=$("$PY" -c 'import json,sys; print("%.0f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 8 / 1048576))' <<<"$json") || mbps=
	fi
	[[ -n $mbps ]] && CEILING_SAMPLES+=("$mbps")
	log "loopback ceiling sample (iperf3 -Z -l 1M, one stream, 3 s): ${mbps:-failed} MB/s"
}
sample_ceiling

# ---------------------------------------------------------------- runs

ROUND_ROWS=stor,retr,connect,stor-idle,retr-idle,retr-n,stor-n,quit,login
RAN=()
NO_FTPS=
# The memory rows first, each on a freshly started server, so its idle
# baseline is not inflated by buffers the transfer rows left behind.
for s in $SERVERS; do
	[[ -v "PORT[$s]" ]] || die "unknown server $s (known: ${!PORT[*]})"
	case $s in vsftpd | proftpd | pure-ftpd)
		check_libs "$ROOT/usr/sbin/${s}" || {
			log "SKIP $s: missing libraries"
			continue
		}
		;;
	esac
	log "$s: memory rows (idle sessions: $IDLE)"
	start_server "$s" 0 || continue
	RAN+=("$s")
	bench "$s" "$RESULTS/$s.mem.json" -rows mem -pid "$SERVER_PID" -idle "$IDLE" || true
	stop_server
done
# Then the rounds, every server in turn within a round, so that a change
# in the machine's load over the run (other tenants, the host) spreads
# over all servers instead of landing on whichever ran then.
for r in $(seq "$ROUNDS"); do
	sample_ceiling
	for s in "${RAN[@]}"; do
		log "$s: round $r of $ROUNDS"
		start_server "$s" 0 || continue
		bench "$s" "$RESULTS/$s.round$r.json" -rows "$ROUND_ROWS" || true
		stop_server
	done
done
# The FTPS rows in rounds of their own, interleaved the same way: one
# measurement of a CPU-bound TLS stream moved 40% between two runs.
for r in $(seq "$FTPS"); do
	for s in "${RAN[@]}"; do
		[[ " $NO_FTPS " == *" $s "* ]] && continue
		log "$s: FTPS round $r of $FTPS"
		if start_server "$s" 1; then
			bench "$s" "$RESULTS/$s.ftps$r.json" -rows ftps || true
			stop_server
		else
			NO_FTPS+="$s "
		fi
	done
done
((${#RAN[@]})) || die "no server could be benchmarked"
CEILING=0
if ((${#CEILING_SAMPLES[@]})); then
	CEILING=$(printf '%s\n' "${CEILING_SAMPLES[@]}" | sort -n | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : int((v[NR / 2] + v[NR / 2 + 1]) / 2)}')
fi
log "loopback ceiling: $CEILING MB/s (median of ${CEILING_SAMPLES[*]})"

# ---------------------------------------------------------------- report

ORDER=$(echo "$SERVERS" | tr ' ' ',')
# Files in this order so the table's rows come in pyftpdlib's order, then
# ours: a row's place is where it is first seen.
shopt -s nullglob
FILES=("$RESULTS"/*.round*.json "$RESULTS"/*.mem.json "$RESULTS"/*.ftps*.json)
shopt -u nullglob
((${#FILES[@]})) || die "no results"
TABLE=$("$BENCH_DIR/ftpbench" -report -base ftpshare -ceiling "$CEILING" -servers "$ORDER" \
	-chart "$RUN/chart.dat" "${FILES[@]}")
echo
echo "$TABLE"
echo

NSERV=$(head -1 "$RUN/chart.dat" | "$PY" -c 'import shlex,sys; print(len(shlex.split(sys.stdin.read())))')
mkdir -p "$(dirname "$OUT_SVG")"
gnuplot <<EOF || log "gnuplot failed; no chart"
set terminal svg size 1800,760 dynamic font "sans,12" background "white"
set output "$OUT_SVG"
set title "ftpshare and its peers on each row, relative to the best server on that row (1 = best; higher is better)"
set style data histograms
set style histogram clustered gap 1.5
set style fill solid 0.9 border -1
set boxwidth 0.95
# Log scale: on some rows servers differ a hundredfold, which a linear
# axis would flatten to nothing.
set logscale y
set yrange [0.0005:1.5]
set ylabel "score, log scale: best on the row = 1"
set xtics rotate by -35 scale 0 font ",10" nomirror
set ytics ("0.001" 0.001, "0.01" 0.01, "0.1" 0.1, "0.2" 0.2, "0.5" 0.5, "1" 1)
set grid ytics
set key top center horizontal outside
set datafile missing "?"
set bmargin 9
plot for [i=2:$NSERV] "$RUN/chart.dat" using i:xtic(1) title columnheader(i)
EOF

ELAPSED=$((SECONDS - START))
CPU=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
MEM=$(free -g | awk '/^Mem:/ {print $2 " GiB"}')
OS=$(sed -n 's/^PRETTY_NAME="\(.*\)"/\1/p' /etc/os-release)
PYVER=$(dpkg-query -W -f='${Version}' python3-pyftpdlib)
FTPSHARE_VER=$(cd "$REPO" && git rev-parse --short HEAD 2>/dev/null || echo "?")
SKIPPED=""
for s in $SERVERS; do
	[[ " ${RAN[*]} " == *" $s "* ]] || SKIPPED+="$s "
done
mkdir -p "$(dirname "$OUT_MD")"
cat >"$OUT_MD" <<EOF
# Benchmarks: ftpshare and its peers

Generated by \`scripts/bench-peers.sh\`; do not edit by hand, re-run it.

## Usage

\`\`\`sh
sudo scripts/bench-peers.sh                     # everything: about 13 minutes on 2 cores
sudo ROUNDS=1 IDLE=1000 FTPS=0 scripts/bench-peers.sh    # a quick look
sudo SERVERS="vsftpd ftpshare" scripts/bench-peers.sh    # a subset
go run ./scripts/ftpbench -port 2121 -user bench -pass bench -rows all   # one server by hand
go run ./scripts/ftpbench -report -base ftpshare run1.json run2.json    # merge -json outputs
\`\`\`

The script installs \`iperf3\`, \`gnuplot-nox\`, \`python3-pyftpdlib\` and
\`python3-openssl\` from Debian, extracts \`vsftpd\`, \`proftpd-core\` and
\`pure-ftpd\` (which conflict as installed packages) and the libraries they
lack under \`BENCH_DIR\`, builds \`scripts/ftpbench\` and ftpshare, starts
each server in turn on 127.0.0.1 and runs \`ftpbench\` against it. The
flags and row definitions are in \`go doc ./scripts/ftpbench\`.

## Results

- Date: $(date -u '+%Y-%m-%d %H:%M UTC')
- Machine: $(nproc) cores ($CPU), $MEM, Linux $(uname -r), $OS
- Command: \`$COMMAND\`
- Rounds: $ROUNDS, every server in turn within a round (median shown); FTPS rows in $FTPS rounds of their own, likewise; memory rows once per server
- Memory: ${REPORTING_ORDER:+free page reporting to the hypervisor off for the run; }$WARM_GIB GiB touched once before it (see the script's "memory" section)
- Versions: ftpshare $FTPSHARE_VER, pyftpdlib $PYVER, vsftpd $(version_of vsftpd), proftpd $(version_of proftpd-core), pure-ftpd $(version_of pure-ftpd)
- Loopback ceiling (\`iperf3 -Z -l 1M\`, one stream, 3 s, median of ${#CEILING_SAMPLES[@]} runs spread over the run: ${CEILING_SAMPLES[*]}): $CEILING MB/s
- Wall time of the whole run: $((ELAPSED / 60)) min $((ELAPSED % 60)) s
- Load average (1, 5, 15 min) before the run: $LOAD_BEFORE; after: $(cut -d' ' -f1-3 /proc/loadavg).
  Anything well above 2 means other work shared the cores, and the
  numbers are noisier for it.
${SKIPPED:+- Not measured (failed to start or to accept a login; see BENCH_DIR/run): $SKIPPED}
${NO_FTPS:+- FTPS rows not measured (the server did not start with TLS): $NO_FTPS}

Client and servers share the machine's cores; MB/s is 2^20 bytes per
second, as in pyftpdlib's table. The last column is ftpshare's median
over the best peer's, turned so that above 1 means ftpshare is better
(for times, the peer's over ftpshare's). A server that fell short of a
row's conditions (fewer sessions open than the row says, because the time
budget ran out) keeps its † value in the table but is left out of that
row's comparison and of the chart.

$TABLE

![Each server's score per row, 1 = best on the row](benchmarks.svg)

## What each row measures

- **STOR / RETR (MB/s)**: one client, one file, on a fresh session. STOR
  sends for $DURATION, then closes and waits for the 226: the rate is the
  bytes the server confirmed (checked with SIZE) over the time from the
  STOR command to the 226. (pyftpdlib's ftpbench divides what \`send()\`
  accepted by the nominal second, which credits bytes still in socket
  buffers.) RETR downloads that file whole, repeatedly until $DURATION
  has passed, each download checked against the file's length, over the
  time including each RETR's round trips. The "idle clients" variants
  run the same with the $CLIENTS logged-in sessions open. Before each
  upload row, untimed, ftpbench deletes the file the row will write and
  calls sync(2) (\`-sync\`), so no row pays for the writeback of the one
  before it.
- **$CLIENTS concurrent clients (connect, login)**: $CLIENTS sessions
  connect and log in, at most 32 connects in flight (vsftpd's listen
  queue is 32; overflowing it would time the kernel's one-second SYN
  retransmit), with retries on refused/reset connections and 421.
  pyftpdlib's ftpbench does this sequentially.
- **RETR / STOR $SIZE file**: all $CLIENTS clients at once, timed to the
  last 226. RETR is of one shared file; STOR goes to one file per client
  (pyftpdlib's clients all write the same file), each checked with SIZE
  afterwards.
- **QUIT**: all $CLIENTS send QUIT at once, timed to the last 221.
- **login latency**: 200 sequential logins (connect, 220, USER, PASS,
  230), nearest-rank p50 and p99; also with 1,000 and 10,000 idle
  sessions open, where (measured once per server) the value is the
  median of five batches of 200. A batch's latency depends on whether
  the scheduler keeps client and server on one core (about 0.12 against
  0.28 ms for the fast servers), which changes from batch to batch. A
  single-threaded server tends to keep the fast mode for the first few
  hundred logins after the sessions open (pyftpdlib: 0.12 ms, then
  0.21-0.26); over batches of 1,000 logins pyftpdlib and ftpshare both
  measure 0.21 ms with 1,000 sessions open.
- **memory**: proportional set size (Pss from \`/proc/PID/smaps_rollup\`)
  summed over the server process and all its descendants, so forking
  servers (a process per session, two for vsftpd) are counted fairly;
  idle, then with N idle logged-in sessions after the readings settle.
  Per session is (PSS with N − PSS idle) / N. Measured first, on a
  freshly started server.
- **FTPS**: AUTH TLS, PBSZ 0, PROT P; data connections resume the
  control connection's TLS session, as FileZilla's and curl's do. Every
  server uses the same ECDSA P-256 certificate.

A batch of connects or logins stops starting new ones after $BUDGET, so a
server that slows to a crawl as sessions pile up costs bounded time; the
footnotes then say how far it got.

## Peer settings

All on 127.0.0.1, one at a time, each with its own control port, the
same passive ports ($PASV_MIN-$PASV_MAX: pure-ftpd caps its clients at half
its passive range), writing to the same data directory, per-session
logging off, idle timeouts of an hour, connection limits raised as below.

| Server | Limits | Login | Notes |
|---|---|---|---|
| pyftpdlib | \`max_cons = 0\`, \`max_cons_per_ip = 0\` (no limit) | DummyAuthorizer, password in memory | \`scripts/peers/pyftpdlib_server.py\`; async, one process |
| vsftpd | \`max_clients=0\`, \`max_per_ip=0\` (no limit) | PAM (stock \`other\` service), MD5-crypt | \`scripts/peers/vsftpd.conf\`; two processes per session; \`seccomp_sandbox=NO\`, \`isolate=NO\` for containers; listen queue 32 |
| proftpd | \`MaxInstances 30000\`; \`MaxClients\`, \`MaxClientsPerHost\`, \`MaxConnectionsPerHost\` none | \`mod_auth_unix\`, MD5-crypt | \`scripts/peers/proftpd.conf\`; a process per session; sleeps 200 ms whenever a signal (a child exiting) interrupts its accept loop, a compile-time tunable |
| pure-ftpd | \`-c 30000 -C 30000\`, capped by pure-ftpd at half the passive range: $(((PASV_MAX - PASV_MIN + 1) / 2)) | \`-l unix\`, MD5-crypt | flags in \`scripts/bench-peers.sh\`; a process per session |
| ftpshare | \`--max-conns 0 --max-conns-per-ip 0\` (no limit) | \`--user bench:bench\`, password in memory | \`--idle-timeout 1h --quiet\` |
EOF
log "wrote $OUT_MD and $OUT_SVG in $((ELAPSED / 60)) min $((ELAPSED % 60)) s"
