#!/usr/bin/env bash
# Engine benchmarks: handshakes per second of `sslwalk serve` against
# `openssl s_server` under the same load, the RSA-2048 private-key rate
# of the `rsa` crate against `openssl speed rsa2048`, in-memory handshakes
# (benches/handshake.rs), and record-layer throughput per cipher
# (benches/record.rs) against `openssl speed -evp`.
#
#   benches/engine/run.sh            # from anywhere in the repository
#
# Environment:
#   CONCURRENCY   connections at a time per load generator (default: 2)
#   FULL_SECS     seconds of full-handshake load per run (default: 8)
#   RESUME_SECS   seconds of resumed-handshake load per run (default: 4)
#   BENCH_SECS    criterion measurement time per benchmark (default: 3)
#   SKIP_BUILD=1  use the binaries already built
#
# Handshakes: TLS 1.2 with TLS_RSA_WITH_AES_128_GCM_SHA256 (RSA key
# exchange, the RSA-2048 test certificate of fixtures/peers/keys), full
# ones and resumed ones (session IDs: s_server runs with -no_ticket, and
# sslwalk has no tickets), each server under the same load from two load
# generators in turn, each keeping CONCURRENCY connections going, one
# after another, for the given time:
#   s_time  CONCURRENCY copies of `openssl s_time -new` / `-reuse`, an
#           independent client, but a heavy one: on a small machine it
#           takes CPU the server would use;
#   engine  examples/handshake_load.rs, CONCURRENCY threads of sslwalk's
#           engine client (an RSA public-key operation per full handshake,
#           events dropped): light, so the server is what is measured.
# The rate is the handshakes the generator counted over the wall time of
# the run, measured here; a server's CPU time comes from /proc/PID/stat
# (all threads), the machine's from /proc/stat. "hs/server-s" (handshakes
# per second of server CPU time) is the figure least disturbed by other
# work on the machine. Both servers listen on ephemeral ports on 127.0.0.1
# and every process started here is killed by PID on exit.
#
# Exit status: 0 when every measurement ran (whether the targets are met is
# printed), 1 otherwise.
set -euo pipefail

cd "$(dirname "$0")/../.."
ROOT=$PWD
CONCURRENCY=${CONCURRENCY:-2}
FULL_SECS=${FULL_SECS:-8}
RESUME_SECS=${RESUME_SECS:-4}
BENCH_SECS=${BENCH_SECS:-3}
SKIP_BUILD=${SKIP_BUILD:-0}
SSLWALK=$ROOT/target/release/sslwalk
LOADGEN=$ROOT/target/release/examples/handshake_load
CERT=$ROOT/fixtures/peers/keys/server.crt
KEY=$ROOT/fixtures/peers/keys/server.key
CIPHER=AES128-GCM-SHA256
HZ=$(getconf CLK_TCK)

die() { echo "run.sh: $*" >&2; exit 1; }
section() { echo "== [$(($(date +%s) - T0)) s] $*"; }
for tool in openssl jq awk; do
    command -v "$tool" >/dev/null || die "$tool is missing"
done

WORK=$(mktemp -d)
# Processes started here and not yet waited for (so that a reused PID is
# never killed): servers and load generators.
declare -A LIVE=()
cleanup() {
    local p
    for p in "${!LIVE[@]}"; do
        kill "$p" 2>/dev/null || true
    done
    for p in "${!LIVE[@]}"; do
        wait "$p" 2>/dev/null || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

T0=$(date +%s)
if [ "$SKIP_BUILD" != 1 ]; then
    section "building (release, benches)"
    cargo build --release --quiet --bin sslwalk --example handshake_load
    cargo bench --quiet --no-run --bench handshake --bench record
fi
[ -x "$SSLWALK" ] || die "$SSLWALK is missing"
[ -x "$LOADGEN" ] || die "$LOADGEN is missing"
section "$("$SSLWALK" --version), $(openssl version | cut -d' ' -f1-2); $(nproc) CPUs ($(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1)); load average $(cut -d' ' -f1-3 /proc/loadavg)"

# Figures go to $WORK/figures as "key value" lines.
FIG=$WORK/figures
: >"$FIG"
fig() { echo "$1 $2" >>"$FIG"; }
get() { awk -v k="$1" '$1 == k { print $2 }' "$FIG"; }

# -- 1. criterion: the rsa crate and in-memory engines, then the record layer

export CRITERION_HOME=$WORK/criterion
# crit GROUP/NAME: median time per iteration in ns
crit() { jq '.median.point_estimate' "$CRITERION_HOME/$1/new/estimates.json"; }

CMD_HS="cargo bench --bench handshake -- --warm-up-time 1 --measurement-time $BENCH_SECS"
section "$CMD_HS"
$CMD_HS >"$WORK/handshake.log" 2>&1 || { cat "$WORK/handshake.log"; die "the handshake bench failed"; }
for b in "rsa2048/decrypt pkcs1v15 blinded" "rsa2048/decrypt pkcs1v15 unblinded" \
    "engine/full pair" "engine/full server" "engine/resumed pair" "engine/resumed server"; do
    ns=$(crit "$b")
    fig "${b// /_}" "$(awk -v n="$ns" 'BEGIN { printf "%.1f", 1e9 / n }')"
done

SUITES='AES128-GCM-SHA256|AES128-SHA|RC4-SHA|RC4-MD5|DES-CBC3-SHA'
CMD_REC="cargo bench --bench record -- --warm-up-time 1 --measurement-time $BENCH_SECS"
section "$CMD_REC '^record 16KiB/(seal|open) ($SUITES)\$'"
$CMD_REC "^record 16KiB/(seal|open) ($SUITES)\$" >"$WORK/record.log" 2>&1 ||
    { cat "$WORK/record.log"; die "the record bench failed"; }
for s in ${SUITES//|/ }; do
    for op in seal open; do
        ns=$(crit "record 16KiB/$op $s")
        fig "$op-$s" "$(awk -v n="$ns" 'BEGIN { printf "%.1f", 16384 * 1e3 / n }')" # MB/s
    done
done

# -- 2. openssl speed

# openssl speed divides by CPU user time unless told -elapsed; criterion
# measures wall time: both are wall time here, so that work of other
# processes on the machine slows both alike.
# ossl_speed NAME ARGS...: MB/s (10^6 bytes) of `openssl speed ARGS` on 16 KiB blocks
ossl_speed() {
    local name=$1
    shift
    echo "   openssl speed -elapsed -seconds 1 -bytes 16384 $*" >>"$WORK/speed-cmds"
    fig "ossl-$name" "$(openssl speed -elapsed -seconds 1 -bytes 16384 "$@" 2>/dev/null |
        awk 'END { v = $NF; sub(/k$/, "", v); printf "%.1f", v / 1000 }')"
}
section "openssl speed"
: >"$WORK/speed-cmds"
echo "   openssl speed -elapsed -seconds 2 rsa2048" >>"$WORK/speed-cmds"
fig ossl-rsa2048-sign "$(openssl speed -elapsed -seconds 2 rsa2048 2>/dev/null | awk '$1 == "rsa" && $2 == 2048 { print $6 }')"
ossl_speed aes-128-gcm-enc -evp aes-128-gcm
ossl_speed aes-128-gcm-dec -evp aes-128-gcm -decrypt
ossl_speed aes-128-cbc-hmac-sha1 -evp aes-128-cbc-hmac-sha1
ossl_speed aes-128-cbc-enc -evp aes-128-cbc
ossl_speed aes-128-cbc-dec -evp aes-128-cbc -decrypt
ossl_speed rc4 -provider legacy -provider default -evp rc4
ossl_speed des-ede3-cbc-enc -evp des-ede3-cbc
ossl_speed des-ede3-cbc-dec -evp des-ede3-cbc -decrypt
ossl_speed sha1 -evp sha1
ossl_speed md5 -evp md5
cat "$WORK/speed-cmds"

# -- 3. handshakes over loopback

# start_server NAME STDOUT CMD...: starts CMD in the background, waits for
# its "127.0.0.1:PORT" line; sets SERVER_PID and SERVER_PORT.
start_server() {
    local name=$1 out=$2 i
    shift 2
    "$@" </dev/null >"$out" 2>"$WORK/$name.err" &
    SERVER_PID=$!
    LIVE[$SERVER_PID]=1
    SERVER_PORT=
    for ((i = 0; i < 100; i++)); do
        SERVER_PORT=$(cat "$out" "$WORK/$name.err" | sed -n 's/.*127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' | head -1)
        [ -n "$SERVER_PORT" ] && return 0
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.1
    done
    cat "$WORK/$name.err" >&2
    die "$name did not start"
}
stop_server() {
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    unset "LIVE[$SERVER_PID]"
}
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
busy_ticks() { awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8, $5 + $6 }' /proc/stat; }

# load KEY GEN MODE SECS: load generator GEN (s_time or engine) against
# SERVER_PORT, MODE new or reuse; appends KEY-* figures.
load() {
    local key=$1 gen=$2 mode=$3 secs=$4 i pids=() c0 c1 t0 t1 b0 b1 n=0 x total reused
    rm -f "$WORK"/gen.*
    c0=$(cpu_ticks "$SERVER_PID")
    b0=$(busy_ticks)
    t0=$(date +%s%N)
    if [ "$gen" = s_time ]; then
        for ((i = 1; i <= CONCURRENCY; i++)); do
            openssl s_time -connect "127.0.0.1:$SERVER_PORT" "-$mode" -time "$secs" -tls1_2 -cipher "$CIPHER" \
                >"$WORK/gen.$i" 2>&1 &
            pids+=($!)
            LIVE[$!]=1
        done
    else
        local resume=
        [ "$mode" = reuse ] && resume=--resume
        "$LOADGEN" "127.0.0.1:$SERVER_PORT" --threads "$CONCURRENCY" --secs "$secs" $resume >"$WORK/gen.1" 2>&1 &
        pids+=($!)
        LIVE[$!]=1
    fi
    for i in "${pids[@]}"; do
        wait "$i" || true
        unset "LIVE[$i]"
    done
    t1=$(date +%s%N)
    c1=$(cpu_ticks "$SERVER_PID")
    b1=$(busy_ticks)
    if [ "$gen" = s_time ]; then
        for ((i = 1; i <= CONCURRENCY; i++)); do
            x=$(sed -n 's/^\([0-9][0-9]*\) connections in [0-9.]* real seconds.*/\1/p' "$WORK/gen.$i" | tail -1)
            [ -n "$x" ] && [ "$x" -gt 0 ] || { cat "$WORK/gen.$i" >&2; die "s_time -$mode against $key failed"; }
            n=$((n + x))
        done
        # s_time prints '*' per new session and 'r' per resumed one.
        total=$(cat "$WORK"/gen.* | grep -E '^[*r]+$' | tr -cd '*r' | wc -c || true)
        reused=$(cat "$WORK"/gen.* | grep -E '^[*r]+$' | tr -cd 'r' | wc -c || true)
    else
        n=$(sed -n 's/^handshakes=\([0-9]*\) .*failed=0 .*/\1/p' "$WORK/gen.1")
        [ -n "$n" ] && [ "$n" -gt 0 ] || { cat "$WORK/gen.1" >&2; die "handshake_load $mode against $key failed"; }
        total=$n
        reused=$(sed -n 's/.* resumed=\([0-9]*\) .*/\1/p' "$WORK/gen.1")
    fi
    awk -v k="$key" -v n="$n" -v t0="$t0" -v t1="$t1" -v c0="$c0" -v c1="$c1" -v hz="$HZ" \
        -v b0="$b0" -v b1="$b1" -v total="$total" -v reused="$reused" -v ncpu="$(nproc)" '
        BEGIN {
            split(b0, a, " "); split(b1, b, " ")
            wall = (t1 - t0) / 1e9; cpu = (c1 - c0) / hz
            busy = (b[1] - a[1]) / (b[1] - a[1] + b[2] - a[2])
            printf "%s-rate %.1f\n%s-n %d\n%s-wall %.2f\n%s-cpu %.1f\n%s-percpu %.1f\n%s-busy %.0f\n%s-total %d\n%s-reused %d\n",
                k, n / wall, k, n, k, wall, k, 100 * cpu / wall, k, (cpu > 0 ? n / cpu : 0), k, 100 * ncpu * busy, k, total, k, reused
        }' >>"$FIG"
    printf '   %-22s %6d handshakes in %5.2f s\n' "$key:" "$n" "$(get "$key-wall")"
}

CMD_SW="$SSLWALK serve --port 0 --cert $CERT --key $KEY --tls1_2 --cipher $CIPHER"
CMD_OS="openssl s_server -accept 127.0.0.1:0 -cert $CERT -key $KEY -tls1_2 -cipher $CIPHER -no_ticket -www"
section "handshakes over loopback, each load generator against each server in turn"
echo "   server sslwalk:  $CMD_SW >/dev/null"
echo "   server openssl:  $CMD_OS"
echo "   load s_time:     $CONCURRENCY x openssl s_time -connect 127.0.0.1:PORT -new|-reuse -time $FULL_SECS|$RESUME_SECS -tls1_2 -cipher $CIPHER"
echo "   load engine:     ${LOADGEN#"$ROOT"/} 127.0.0.1:PORT --threads $CONCURRENCY --secs $FULL_SECS|$RESUME_SECS [--resume]"
for mode in new reuse; do
    secs=$FULL_SECS
    [ "$mode" = reuse ] && secs=$RESUME_SECS
    for gen in s_time engine; do
        # sslwalk's text report goes to /dev/null: no disk writes timed.
        start_server sslwalk /dev/null $CMD_SW
        load "$gen-sslwalk-$mode" "$gen" "$mode" "$secs"
        stop_server
        start_server openssl "$WORK/openssl.out" $CMD_OS
        load "$gen-openssl-$mode" "$gen" "$mode" "$secs"
        stop_server
    done
done

# -- 4. the table

echo
section "results ($(nproc) CPUs; load average now $(cut -d' ' -f1-3 /proc/loadavg); MB = 10^6 bytes)"
awk '{ f[$1] = $2 }
    function ok(x) { return x ? "met" : "MISSED" }
    function serial(a, b) { return 1 / (1 / a + 1 / b) }
    END {
        rsa = f["rsa2048/decrypt_pkcs1v15_blinded"]
        printf "\nHandshakes over loopback, TLS 1.2 AES128-GCM-SHA256, RSA-2048 (load: %s connections at a time;\n", conc
        printf "server CPU: %% of one CPU, all threads; machine CPU: %% of one CPU, everything incl. the load generator):\n"
        printf "  %-8s %-8s %-8s %8s %11s %12s %12s %13s\n", "", "load", "server", "hs/s", "server CPU", "hs/server-s", "machine CPU", "resumed"
        for (m = 1; m <= 2; m++) {
            mode = m == 1 ? "new" : "reuse"
            for (g = 1; g <= 2; g++) {
                gen = g == 1 ? "s_time" : "engine"
                for (s = 1; s <= 2; s++) {
                    srv = s == 1 ? "sslwalk" : "openssl"
                    k = gen "-" srv "-" mode
                    printf "  %-8s %-8s %-8s %8.0f %10.0f%% %12.0f %11.0f%% %6d/%-6d\n", (mode == "new" ? "full" : "resumed"), gen, srv, f[k "-rate"], f[k "-cpu"], f[k "-percpu"], f[k "-busy"], f[k "-reused"], f[k "-total"]
                }
            }
        }
        printf "\nRSA-2048 private key and in-memory handshakes (criterion medians, one thread):\n"
        printf "  %-46s %9.0f /s\n", "rsa crate decrypt_blinded, PKCS#1 v1.5", rsa
        printf "  %-46s %9.0f /s\n", "rsa crate decrypt, no blinding", f["rsa2048/decrypt_pkcs1v15_unblinded"]
        printf "  %-46s %9.0f /s\n", "openssl speed rsa2048 sign (private key)", f["ossl-rsa2048-sign"]
        printf "  %-46s %9.0f /s\n", "engine full handshake, client + server", f["engine/full_pair"]
        printf "  %-46s %9.0f /s\n", "engine full handshake, server side", f["engine/full_server"]
        printf "  %-46s %9.0f /s\n", "engine resumed handshake, client + server", f["engine/resumed_pair"]
        printf "  %-46s %9.0f /s\n", "engine resumed handshake, server side", f["engine/resumed_server"]

        printf "\nRecord layer, 16 KiB records, MB/s (openssl speed -evp: encrypt, -decrypt; \"x + y\": both in turn):\n"
        printf "  %-18s %7s %7s   %-32s %7s %7s %9s %9s\n", "suite", "seal", "open", "openssl reference", "enc", "dec", "seal/enc", "open/dec"
        ge = f["ossl-aes-128-gcm-enc"]; gd = f["ossl-aes-128-gcm-dec"]
        ce = f["ossl-aes-128-cbc-enc"]; cd = f["ossl-aes-128-cbc-dec"]; stitched = f["ossl-aes-128-cbc-hmac-sha1"]
        rc4 = f["ossl-rc4"]; sha = f["ossl-sha1"]; md5 = f["ossl-md5"]
        de = f["ossl-des-ede3-cbc-enc"]; dd = f["ossl-des-ede3-cbc-dec"]
        row("AES128-GCM-SHA256", "aes-128-gcm", ge, gd)
        row("AES128-SHA", "aes-128-cbc-hmac-sha1 / cbc + sha1", stitched, serial(cd, sha))
        row("AES128-SHA", "aes-128-cbc + sha1", serial(ce, sha), serial(cd, sha))
        row("RC4-SHA", "rc4", rc4, rc4)
        row("RC4-SHA", "rc4 + sha1", serial(rc4, sha), serial(rc4, sha))
        row("RC4-MD5", "rc4", rc4, rc4)
        row("RC4-MD5", "rc4 + md5", serial(rc4, md5), serial(rc4, md5))
        row("DES-CBC3-SHA", "des-ede3-cbc", de, dd)
        row("DES-CBC3-SHA", "des-ede3-cbc + sha1", serial(de, sha), serial(dd, sha))

        printf "\nTargets:\n"
        w = f["engine-sslwalk-new-rate"] / rsa; c = f["engine-sslwalk-new-percpu"] / rsa
        printf "  full hs/s >= 0.9 x rsa decrypt/s (engine load):  %s: %.2fx wall rate, %.2fx per server CPU-second\n", ok(w >= 0.9), w, c
        w = f["s_time-sslwalk-new-rate"] / rsa; c = f["s_time-sslwalk-new-percpu"] / rsa
        printf "  full hs/s >= 0.9 x rsa decrypt/s (s_time load):  %s: %.2fx wall rate, %.2fx per server CPU-second\n", ok(w >= 0.9), w, c
        c = f["engine/full_server"] / rsa
        printf "  the same in memory (server side, no sockets):    %s: %.2fx\n", ok(c >= 0.9), c
        for (g = 1; g <= 2; g++) {
            gen = g == 1 ? "s_time" : "engine"
            w = f[gen "-sslwalk-reuse-rate"] / f[gen "-openssl-reuse-rate"]; c = f[gen "-sslwalk-reuse-percpu"] / f[gen "-openssl-reuse-percpu"]
            printf "  resumed hs/s >= openssl s_server (%-6s load):  %s: %.2fx wall rate, %.2fx per server CPU-second\n", gen, ok(w >= 1), w, c
        }
        a = f["seal-AES128-GCM-SHA256"] / ge; b = f["open-AES128-GCM-SHA256"] / gd
        printf "  AES-GCM >= 0.8 x openssl aes-128-gcm:            %s: seal %.2fx, open %.2fx\n", ok(a >= 0.8 && b >= 0.8), a, b
        # Like for like: the suite seals with RC4 and a MAC; against RC4
        # alone in parentheses.
        a = f["seal-RC4-SHA"] / serial(rc4, sha); b = f["open-RC4-SHA"] / serial(rc4, sha)
        printf "  RC4-SHA >= 0.8 x openssl rc4 + sha1:             %s: seal %.2fx, open %.2fx (against rc4 alone %.2fx, %.2fx)\n", ok(a >= 0.8 && b >= 0.8), a, b, f["seal-RC4-SHA"] / rc4, f["open-RC4-SHA"] / rc4
        a = f["seal-RC4-MD5"] / serial(rc4, md5); b = f["open-RC4-MD5"] / serial(rc4, md5)
        printf "  RC4-MD5 >= 0.8 x openssl rc4 + md5:              %s: seal %.2fx, open %.2fx (against rc4 alone %.2fx, %.2fx)\n", ok(a >= 0.8 && b >= 0.8), a, b, f["seal-RC4-MD5"] / rc4, f["open-RC4-MD5"] / rc4
    }
    function row(suite, ref, e, d) {
        printf "  %-18s %7.0f %7.0f   %-32s %7.0f %7.0f %8.2fx %8.2fx\n", suite, f["seal-" suite], f["open-" suite], ref, e, d, f["seal-" suite] / e, f["open-" suite] / d
    }' conc="$CONCURRENCY" "$FIG"
echo
section "done"
