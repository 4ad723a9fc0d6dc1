#!/usr/bin/env bash
# Decrypting decode throughput, per cipher: sslwalk against ssldump and
# tshark, each given the same key log, on big captures whose records really
# are encrypted under known keys (sslwalk's own engines in memory, written
# by examples/gen_decrypt_capture.rs; one capture per suite).
#
#   benches/decode/run-decrypt.sh        # from the repository root
#
# Environment:
#   BENCH_DIR     where the captures go (default: bench-data/, git-ignored)
#   SUITES        "CODE:VERSION:LABEL ..." (default: AES128-GCM-SHA256,
#                 AES256-GCM-SHA384, AES128-SHA, AES128-SHA256, RC4-SHA,
#                 DES-CBC3-SHA, DES-CBC-SHA, NULL-SHA; TLS 1.2 but 3DES in
#                 TLS 1.0 and DES in TLS 1.1)
#   SIZE          capture size in MB (default: 60)
#   BIG           a larger size for the first suite, to see that memory
#                 stays flat (default: 230; empty to skip)
#   BIG_RECORDS   plaintext bytes per application-data record for the first
#                 suite, one capture each at SIZE and BIG (default: "16384
#                 1024 256": full records, where the cipher's per-byte cost
#                 shows, and small ones, where the per-record cost does)
#   CONTENT       what the application data is: http (default; HTTP/1.1
#                 requests and responses, as an HTTPS capture carries) or
#                 random (bytes)
#   CONNECTIONS   TLS connections per capture (default: 200)
#   ACTIVE        connections open at a time (default: 16)
#   REPS          repetitions for sslwalk and ssldump (default: 11; runs of
#                 tens of milliseconds on a shared machine vary by half), median
#   TSHARK_REPS   repetitions for tshark (default: 3; it takes seconds)
#   SKIP_TSHARK=1 leave tshark out
#   SKIP_BUILD=1  use the binaries already in target/release
#
# The commands measured, on the same file and key log in the same run:
#   sslwalk decode --keylog F FILE          (text)
#   sslwalk decode --json --keylog F FILE
#   ssldump -n -l F -r FILE
#   tshark -r FILE -o tls.keylog_file:F -d tcp.port==443,tls -Y tls
#                                           (tshark: its defaults, HTTP on;
#                                           http content only)
#   tshark ... --disable-protocol http -Y tls
#                                           (tshark-tls: TLS alone, as
#                                           sslwalk, which does not parse
#                                           HTTP)
# Each is first checked to really decrypt (sslwalk: every connection
# decrypted with both Finished verified and every application-data record;
# ssldump: every Finished decoded, which it can only do decrypted; tshark,
# both ways: the first connection's decrypted stream is exactly as long as
# the one sslwalk decrypts). Why tshark is not run with its defaults on
# random content: tshark 4.0 hands the plaintext on port 443 to HTTP,
# which asks for more data; TLS then skips the rest of that segment's
# records, loses the record sequence number and fails every later GCM tag
# (its tls.debug_file shows "auth tag mismatch"), so it decrypted only 60
# of 843 records of 256 bytes and 403 of 1024 of 1 KiB. On HTTP content
# it decrypts everything, and its HTTP dissector does what it does on a
# real HTTPS capture.
# Wall time comes from a nanosecond clock around /usr/bin/time, which also
# gives the peak RSS and CPU time; the file is read once before each run so
# every tool reads it from the page cache.
set -euo pipefail

cd "$(dirname "$0")/../.."
ROOT=$PWD
BENCH_DIR=${BENCH_DIR:-$ROOT/bench-data}
SUITES=${SUITES:-"009c:tls1.2:AES128-GCM-SHA256 009d:tls1.2:AES256-GCM-SHA384 002f:tls1.2:AES128-SHA 003c:tls1.2:AES128-SHA256 0005:tls1.2:RC4-SHA 000a:tls1:DES-CBC3-SHA 0009:tls1.1:DES-CBC-SHA 0002:tls1.2:NULL-SHA"}
SIZE=${SIZE:-60}
BIG=${BIG-230}
BIG_RECORDS=${BIG_RECORDS:-16384 1024 256}
CONTENT=${CONTENT:-http}
CONNECTIONS=${CONNECTIONS:-200}
ACTIVE=${ACTIVE:-16}
REPS=${REPS:-11}
TSHARK_REPS=${TSHARK_REPS:-3}
SKIP_TSHARK=${SKIP_TSHARK:-0}
SKIP_BUILD=${SKIP_BUILD:-0}
SSLWALK=${SSLWALK:-$ROOT/target/release/sslwalk}
GEN=${GEN:-$ROOT/target/release/examples/gen_decrypt_capture}
TIME=/usr/bin/time

die() { echo "run-decrypt.sh: $*" >&2; exit 1; }

case $CONTENT in
    http) CONTENT_SUFFIX=-http ;;
    random) CONTENT_SUFFIX= ;;
    *) die "CONTENT must be http or random" ;;
esac

[ -x "$TIME" ] || die "$TIME is missing (apt-get install -y time)"
command -v ssldump >/dev/null || die "ssldump is missing"
if [ "$SKIP_TSHARK" != 1 ]; then
    command -v tshark >/dev/null || die "tshark is missing (or set SKIP_TSHARK=1)"
fi
if [ "$SKIP_BUILD" != 1 ]; then
    echo "== building (release)"
    cargo build --release --quiet --bin sslwalk --example gen_decrypt_capture
fi
[ -x "$SSLWALK" ] && [ -x "$GEN" ] || die "build sslwalk and the generator first"
mkdir -p "$BENCH_DIR"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# measure NAME FILE CMD...: one run, stdout to /dev/null; appends
# "NAME wall_s rss_kb cpu_s" to $WORK/runs.
measure() {
    local name=$1 file=$2 start end
    shift 2
    cat "$file" >/dev/null
    start=$(date +%s%N)
    "$TIME" -f '%e %M %U %S' -o "$WORK/time" "$@" >/dev/null 2>"$WORK/stderr" || {
        cat "$WORK/stderr" >&2
        die "$name failed"
    }
    end=$(date +%s%N)
    echo "$name $(awk -v s="$start" -v e="$end" 'BEGIN { printf "%.3f", (e - s) / 1e9 }') $(awk 'END { print $2, $3 + $4 }' "$WORK/time")" >>"$WORK/runs"
}

# tshark_args WAY FILE KEYLOG: sets TSHARK_ARGS to tshark's options for
# FILE with KEYLOG, its defaults (WAY tshark) or TLS alone (tshark-tls).
tshark_args() {
    TSHARK_ARGS=(-r "$2" -o "tls.keylog_file:$3" -d tcp.port==443,tls)
    if [ "$1" = tshark-tls ]; then
        TSHARK_ARGS+=(--disable-protocol http)
    fi
}

RESULTS=$WORK/results # label size[@record] file_mb tool wall rss cpu
: >"$RESULTS"

# run_suite CODE VERSION LABEL SIZE [RECORD]: RECORD bytes of plaintext per
# application-data record, 16384 when not given.
run_suite() {
    local code=$1 version=$2 label=$3 size=$4 record=${5:-16384} key=$4 suffix=
    if [ "$record" != 16384 ]; then
        key=$size@$record
        suffix=-r$record
    fi
    local file=$BENCH_DIR/decrypt-$label-${size}mb-c$CONNECTIONS-a$ACTIVE$suffix$CONTENT_SUFFIX.pcap
    local keylog=${file%.pcap}.keylog info=$file.info
    if [ ! -s "$file" ] || [ ! -s "$keylog" ] || [ ! -s "$info" ]; then
        "$GEN" "$file" --suite "$code" --version "$version" --size-mb "$size" \
            --connections "$CONNECTIONS" --active "$ACTIVE" --record-size "$record" \
            --content "$CONTENT" >"$info"
    fi
    local records file_mb
    records=$(sed -n 's/^\([0-9][0-9]*\) application-data records.*/\1/p' "$info")
    file_mb=$(awk -v b="$(stat -c %s "$file")" 'BEGIN { printf "%.1f", b / 1e6 }')
    echo "== $label ($version), $file_mb MB, $CONNECTIONS connections, $records application-data records of $record bytes ($CONTENT)"

    # Checks: each tool really decrypts.
    "$SSLWALK" decode --json --keylog "$keylog" "$file" >"$WORK/json"
    local dec fin app conn1
    dec=$(grep '"type":"outcome"' "$WORK/json" | grep -c '"decrypted":true' || true)
    fin=$(grep '"type":"outcome"' "$WORK/json" | grep -c '"finished_verified":true' || true)
    app=$(grep '"type":"message"' "$WORK/json" | grep -c '"name":"application_data"' || true)
    # Plaintext bytes of connection 1, both directions: what tshark's follow
    # of tcp.stream 0 must come to.
    conn1=$(grep '"type":"message"' "$WORK/json" | grep '"conn":1,' | grep '"name":"application_data"' |
        sed -n 's/.*"fields":{"length":\([0-9]*\)}.*/\1/p' | awk '{ n += $1 } END { print n + 0 }')
    rm -f "$WORK/json"
    echo "   sslwalk: $dec decrypted, $fin with both Finished verified, $app application-data records"
    [ "$dec" = "$CONNECTIONS" ] && [ "$fin" = "$CONNECTIONS" ] && [ "$app" = "$records" ] ||
        die "sslwalk did not decrypt everything"
    local sfin ssldump_ok=1
    sfin=$(ssldump -n -l "$keylog" -r "$file" 2>/dev/null | grep -c '^ *Finished$' || true)
    echo "   ssldump: $sfin Finished messages decrypted"
    if [ "$sfin" = 0 ]; then
        # ssldump decrypts through OpenSSL: OpenSSL 3 has no RC4, DES or
        # RC2 outside its legacy provider.
        echo "   ssldump cannot decrypt $label: not timed"
        ssldump_ok=0
    elif [ "$sfin" != $((2 * CONNECTIONS)) ]; then
        die "ssldump did not decrypt every Finished"
    fi
    # tshark's ways: with its defaults (HTTP content only), and TLS alone.
    local tsharks=()
    if [ "$SKIP_TSHARK" != 1 ]; then
        [ "$CONTENT" = http ] && tsharks+=(tshark)
        tsharks+=(tshark-tls)
    fi
    local way tbytes
    for way in "${tsharks[@]}"; do
        tshark_args "$way" "$file" "$keylog"
        tbytes=$(tshark "${TSHARK_ARGS[@]}" -q -z follow,tls,raw,0 2>/dev/null |
            grep -v '^=\|^Follow\|^Filter\|^Node' | tr -d '\n\t ' | wc -c)
        echo "   $way: connection 1 decrypts to $((tbytes / 2)) bytes (sslwalk: $conn1)"
        [ $((tbytes / 2)) = "$conn1" ] || die "$way did not decrypt all of connection 1"
    done

    : >"$WORK/runs"
    local r
    for ((r = 1; r <= REPS; r++)); do
        measure sslwalk-text "$file" "$SSLWALK" decode --keylog "$keylog" "$file"
        measure sslwalk-json "$file" "$SSLWALK" decode --json --keylog "$keylog" "$file"
        if [ "$ssldump_ok" = 1 ]; then
            measure ssldump "$file" ssldump -n -l "$keylog" -r "$file"
        fi
        if [ "$r" -le "$TSHARK_REPS" ]; then
            for way in "${tsharks[@]}"; do
                tshark_args "$way" "$file" "$keylog"
                measure "$way" "$file" tshark "${TSHARK_ARGS[@]}" -Y tls
            done
        fi
    done
    local tool t m c
    for tool in sslwalk-text sslwalk-json ssldump tshark tshark-tls; do
        grep -q "^$tool " "$WORK/runs" || continue
        t=$(awk -v t="$tool" '$1 == t { print $2 }' "$WORK/runs" | median)
        m=$(awk -v t="$tool" '$1 == t { print $3 }' "$WORK/runs" | median)
        c=$(awk -v t="$tool" '$1 == t { print $4 }' "$WORK/runs" | median)
        echo "   $tool: $(awk -v t="$tool" '$1 == t { printf "%s ", $2 }' "$WORK/runs")s"
        echo "$label $key $file_mb $tool $t $m $c" >>"$RESULTS"
    done
}

first=1
for s in $SUITES; do
    IFS=: read -r code version label <<<"$s"
    run_suite "$code" "$version" "$label" "$SIZE"
    if [ "$first" = 1 ] && [ -n "$BIG" ]; then
        for record in $BIG_RECORDS; do
            # Memory is compared at the same record size.
            if [ "$record" != 16384 ]; then
                run_suite "$code" "$version" "$label" "$SIZE" "$record"
            fi
            run_suite "$code" "$version" "$label" "$BIG" "$record"
        done
    fi
    first=0
done

echo
echo "== results: median wall time (REPS=$REPS, tshark $TSHARK_REPS); MB = 10^6 bytes; $(nproc) CPUs; load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-26s %7s %-13s %8s %8s %8s %8s  %s\n' "suite (record size)" "file MB" tool "wall s" "MB/s" "CPU s" "RSS MB" "sslwalk-text vs it (wall)"
awk '
    { k = $1 " " $2; w[k, $4] = $5; line[NR] = $0 }
    END {
        for (i = 1; i <= NR; i++) {
            split(line[i], f, " "); k = f[1] " " f[2]
            name = f[1]
            if (index(f[2], "@"))
                name = name " (" substr(f[2], index(f[2], "@") + 1) " B)"
            ratio = ""
            if (f[4] != "sslwalk-text" && f[4] != "sslwalk-json" && w[k, "sslwalk-text"] > 0)
                ratio = sprintf("%.2fx faster", f[5] / w[k, "sslwalk-text"])
            printf "%-26s %7.1f %-13s %8.3f %8.0f %8.3f %8.1f  %s\n", name, f[3], f[4], f[5], f[3] / f[5], f[7], f[6] / 1024, ratio
        }
    }' "$RESULTS"

echo
echo "== targets (sslwalk text mode): 10x tshark, 3x ssldump, memory flat ($CONTENT content)"
awk -v size="$SIZE" '
    function verdict(ok) { return ok ? "met" : "MISSED" }
    {
        k = $1 " " $2; w[k, $4] = $5; rss[k, $4] = $6 / 1024
        if (!(k in seen)) { seen[k] = 1; keys[++n] = k }
    }
    END {
        # Every capture measured, in the order run: the speed targets, and
        # for a larger one, peak RSS against the same suite and record size
        # at SIZE.
        # (Asking "in w" first: reading w[...] would create it.)
        for (i = 1; i <= n; i++) {
            c = keys[i]
            if (!((c, "sslwalk-text") in w))
                continue
            split(c, f, " ")
            name = f[1] " " f[2]
            sub(/@/, " MB, records of ", name)
            name = name (index(f[2], "@") ? " B" : " MB")
            s = w[c, "sslwalk-text"]
            if ((c, "tshark") in w)
                printf "%-44s 10x faster than tshark: %s (%.1fx)\n", name, verdict(w[c, "tshark"] >= 10 * s), w[c, "tshark"] / s
            if ((c, "tshark-tls") in w)
                printf "%-44s 10x faster than tshark, HTTP off: %s (%.1fx)\n", name, verdict(w[c, "tshark-tls"] >= 10 * s), w[c, "tshark-tls"] / s
            if ((c, "ssldump") in w)
                printf "%-44s 3x faster than ssldump: %s (%.2fx)\n", name, verdict(w[c, "ssldump"] >= 3 * s), w[c, "ssldump"] / s
            at = index(f[2], "@")
            base = f[1] " " size (at ? substr(f[2], at) : "")
            if (base != c && (base, "sslwalk-text") in w) {
                a = rss[base, "sslwalk-text"]; b = rss[c, "sslwalk-text"]
                printf "%-44s peak RSS flat against %s MB: %s (%.1f -> %.1f MB)\n", name, size, verdict(b <= a * 1.10 || b - a <= 2), a, b
            }
        }
    }' "$RESULTS"
