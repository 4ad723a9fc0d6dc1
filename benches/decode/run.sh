#!/usr/bin/env bash
# Decode throughput benchmark: sslwalk against ssldump and tshark on big
# synthetic captures (many interleaved TLS 1.2 connections with bulk data,
# written by examples/gen_bench_capture.rs).
#
#   benches/decode/run.sh            # from the repository root
#
# Environment:
#   BENCH_DIR     where the captures go (default: bench-data/, git-ignored)
#   SIZES         capture sizes in MB, smallest first (default: "60 230")
#   CONNECTIONS   TLS connections per capture (default: 200)
#   ACTIVE        connections open at a time (default: 16)
#   SEED          generator seed (default: 1)
#   REPS          repetitions per tool and file for sslwalk and ssldump
#                 (default: 11); the median is reported
#   TSHARK_REPS   repetitions for tshark, which is slow (default: 5)
#   SKIP_TSHARK=1 leave tshark out
#   SKIP_BUILD=1  use the binaries already in target/release
#   SSLWALK       the sslwalk binary to measure (default:
#                 target/release/sslwalk)
#
# Every figure comes from one run of this script: wall time is taken with a
# nanosecond clock around `/usr/bin/time -f '%e %M %U %S'`, which gives the
# peak RSS and the CPU time (user + system; less disturbed than wall time
# when other work shares the machine). The runs of the tools alternate, and
# the file is read once (`cat > /dev/null`) before each run so that every
# tool reads it from the page cache (the kernel may evict idle pages). Before timing, the script checks that each tool really decodes
# the file (sslwalk: one "ok" outcome per connection and every
# application-data record; tshark and ssldump: every application-data
# record), so a broken decode cannot pass as fast. Exit status: 0 when the
# checks pass (whether the speed targets are met or not is printed), 1 when
# a check fails.
set -euo pipefail

cd "$(dirname "$0")/../.."
ROOT=$PWD
BENCH_DIR=${BENCH_DIR:-$ROOT/bench-data}
SIZES=${SIZES:-"60 230"}
CONNECTIONS=${CONNECTIONS:-200}
ACTIVE=${ACTIVE:-16}
SEED=${SEED:-1}
REPS=${REPS:-11}
TSHARK_REPS=${TSHARK_REPS:-5}
SKIP_TSHARK=${SKIP_TSHARK:-0}
SKIP_BUILD=${SKIP_BUILD:-0}
SSLWALK=${SSLWALK:-$ROOT/target/release/sslwalk}
GEN=$ROOT/target/release/examples/gen_bench_capture
TIME=/usr/bin/time
PORT=443

die() { echo "run.sh: $*" >&2; exit 1; }

[ -x "$TIME" ] || die "$TIME is missing (apt-get install -y time)"
command -v ssldump >/dev/null || die "ssldump is missing"
if [ "$SKIP_TSHARK" != 1 ]; then
    command -v tshark >/dev/null || die "tshark is missing (or set SKIP_TSHARK=1)"
fi

if [ "$SKIP_BUILD" != 1 ]; then
    echo "== building (release)"
    cargo build --release --quiet --bin sslwalk --example gen_bench_capture
fi
[ -x "$SSLWALK" ] || die "$SSLWALK is missing"
[ -x "$GEN" ] || die "$GEN is missing"
echo "== measuring $SSLWALK ($("$SSLWALK" --version))"
mkdir -p "$BENCH_DIR"

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# median of the numbers on stdin
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# measure NAME FILE CMD...: runs CMD (stdout to /dev/null) once, FILE
# warm in the page cache; appends "NAME wall_s rss_kb cpu_s" to $WORK/runs.
measure() {
    local name=$1 file=$2
    shift 2
    local start end
    cat "$file" >/dev/null
    start=$(date +%s%N)
    if ! "$TIME" -f '%e %M %U %S' -o "$WORK/time" "$@" >/dev/null 2>"$WORK/stderr"; then
        # sslwalk exits 1 when a handshake failed: the checks above
        # catch that; other tools must succeed.
        if [ "${name%%-*}" != sslwalk ]; then
            cat "$WORK/stderr" >&2
            die "$name failed"
        fi
    fi
    end=$(date +%s%N)
    echo "$name $(awk -v s="$start" -v e="$end" 'BEGIN { printf "%.3f", (e - s) / 1e9 }') $(awk 'END { print $2, $3 + $4 }' "$WORK/time")" >>"$WORK/runs"
}

RESULTS=$WORK/results # tool size_mb file_mb median_s median_rss_kb median_cpu_s
: >"$RESULTS"

for size in $SIZES; do
    file=$BENCH_DIR/bench-${size}mb-c${CONNECTIONS}-a${ACTIVE}-s${SEED}.pcap
    info=$file.info
    if [ ! -s "$file" ] || [ ! -s "$info" ]; then
        echo "== generating $file"
        start=$(date +%s%N)
        "$GEN" "$file" --size-mb "$size" --connections "$CONNECTIONS" --active "$ACTIVE" --seed "$SEED" >"$info"
        end=$(date +%s%N)
        cat "$info"
        awk -v s="$start" -v e="$end" 'BEGIN { printf "   generated in %.1f s\n", (e - s) / 1e9 }'
    fi
    bytes=$(stat -c %s "$file")
    file_mb=$(awk -v b="$bytes" 'BEGIN { printf "%.1f", b / 1e6 }')
    records=$(sed -n 's/.* \([0-9][0-9]*\) application-data records.*/\1/p' "$info")
    [ -n "$records" ] || die "cannot read the record count from $info"

    echo "== checking that every tool decodes $file ($file_mb MB, $CONNECTIONS connections, $records application-data records)"
    "$SSLWALK" decode --json "$file" >"$WORK/json" || true
    outcomes=$(grep -c '"type":"outcome"' "$WORK/json" || true)
    oks=$(grep '"type":"outcome"' "$WORK/json" | grep -c '"result":"ok"' || true)
    appdata=$(grep '"type":"message"' "$WORK/json" | grep -c '"name":"application_data"' || true)
    echo "   sslwalk --json: $outcomes outcomes, $oks ok, $appdata application-data records"
    [ "$outcomes" = "$CONNECTIONS" ] && [ "$oks" = "$CONNECTIONS" ] && [ "$appdata" = "$records" ] ||
        die "sslwalk --json did not decode every connection and record"
    "$SSLWALK" decode "$file" >"$WORK/text" || true
    summary=$(grep '^Summary:' "$WORK/text" || true)
    echo "   sslwalk (text): $summary"
    [ "$summary" = "Summary: $CONNECTIONS connections: $CONNECTIONS ok, 0 failed, 0 incomplete" ] ||
        die "sslwalk (text) did not decode every connection"
    rm -f "$WORK/json" "$WORK/text"
    ssl_appdata=$(ssldump -n -r "$file" 2>/dev/null | grep -c 'application_data' || true)
    echo "   ssldump -n: $ssl_appdata application-data records"
    [ "$ssl_appdata" = "$records" ] || die "ssldump did not decode every record"
    if [ "$SKIP_TSHARK" != 1 ]; then
        tshark_appdata=$(tshark -r "$file" -d "tcp.port==$PORT,tls" -Y tls -T fields -e tls.record.content_type 2>/dev/null |
            tr ',' '\n' | grep -c '^23$' || true)
        echo "   tshark -Y tls: $tshark_appdata application-data records"
        [ "$tshark_appdata" = "$records" ] || die "tshark did not decode every record"
    fi

    echo "== timing on $file_mb MB: sslwalk and ssldump $REPS runs each, tshark $TSHARK_REPS, interleaved"
    : >"$WORK/runs"
    for ((r = 1; r <= REPS; r++)); do
        measure sslwalk-text "$file" "$SSLWALK" decode "$file"
        measure sslwalk-json "$file" "$SSLWALK" decode --json "$file"
        measure ssldump "$file" ssldump -n -r "$file"
        if [ "$SKIP_TSHARK" != 1 ] && [ "$r" -le "$TSHARK_REPS" ]; then
            measure tshark "$file" tshark -r "$file" -d "tcp.port==$PORT,tls" -Y tls
        fi
    done
    for tool in sslwalk-text sslwalk-json ssldump tshark; do
        grep -q "^$tool " "$WORK/runs" || continue
        t=$(awk -v t="$tool" '$1 == t { print $2 }' "$WORK/runs" | median)
        m=$(awk -v t="$tool" '$1 == t { print $3 }' "$WORK/runs" | median)
        c=$(awk -v t="$tool" '$1 == t { print $4 }' "$WORK/runs" | median)
        all=$(awk -v t="$tool" '$1 == t { printf "%s%s", sep, $2; sep = " " }' "$WORK/runs")
        echo "   $tool: $all s"
        echo "$tool $size $file_mb $t $m $c" >>"$RESULTS"
    done
done

echo
echo "== results: median of $REPS runs (tshark: $TSHARK_REPS); MB = 10^6 bytes; $(nproc) CPUs; load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-13s %8s %8s %8s %8s %8s  %s\n' tool "file MB" "wall s" "MB/s" "CPU s" "RSS MB" "ratios (wall, then CPU; text / json mode)"
awk '
    { tool[NR] = $1; size[NR] = $2; mb[NR] = $3; t[NR] = $4; rss[NR] = $5; cpu[NR] = $6; key[$1 " " $2] = NR }
    END {
        for (i = 1; i <= NR; i++) {
            note = ""
            x = key["sslwalk-text " size[i]]; j = key["sslwalk-json " size[i]]
            if (tool[i] == "ssldump" && x && j)
                note = sprintf("sslwalk/ssldump speed %.2fx/%.2fx, CPU %.2fx/%.2fx", t[i] / t[x], t[i] / t[j], cpu[i] / cpu[x], cpu[i] / cpu[j])
            if (tool[i] == "tshark" && x && j)
                note = sprintf("tshark/sslwalk time %.1fx/%.1fx, CPU %.1fx/%.1fx", t[i] / t[x], t[i] / t[j], cpu[i] / cpu[x], cpu[i] / cpu[j])
            printf "%-13s %8.1f %8.3f %8.0f %8.3f %8.1f  %s\n", tool[i], mb[i], t[i], mb[i] / t[i], cpu[i], rss[i] / 1024, note
        }
    }' "$RESULTS"

echo
echo "== targets"
awk -v sizes="$SIZES" '
    function verdict(ok) { return ok ? "met" : "MISSED" }
    { t[$1 " " $2] = $4; rss[$1 " " $2] = $5 / 1024; cpu[$1 " " $2] = $6 }
    END {
        n = split(sizes, s, " ")
        for (i = 1; i <= n; i++) {
            for (m = 1; m <= 2; m++) {
                mode = m == 1 ? "sslwalk-text" : "sslwalk-json"
                k = mode " " s[i]
                if (!(k in t)) continue
                d = "ssldump " s[i]; w = "tshark " s[i]
                if (d in t)
                    printf "%s MB %-12s at least as fast as ssldump: %s (wall %.2fx; CPU %.2fx)\n", s[i], mode, verdict(t[k] <= t[d]), t[d] / t[k], cpu[d] / cpu[k]
                if (w in t)
                    printf "%s MB %-12s 15x faster than tshark:     %s (wall %.1fx; CPU %.1fx)\n", s[i], mode, verdict(t[w] >= 15 * t[k]), t[w] / t[k], cpu[w] / cpu[k]
                printf "%s MB %-12s peak RSS under 64 MB:       %s (%.1f MB)\n", s[i], mode, verdict(rss[k] < 64), rss[k]
            }
        }
        for (m = 1; m <= 2 && n >= 2; m++) {
            mode = m == 1 ? "sslwalk-text" : "sslwalk-json"
            a = rss[mode " " s[1]]; b = rss[mode " " s[n]]
            # flat: the bigger file costs at most 10% or 2 MB more
            printf "%-12s peak RSS flat from %s to %s MB: %s (%.1f -> %.1f MB)\n", mode, s[1], s[n], verdict(b <= a * 1.10 || b - a <= 2), a, b
        }
    }' "$RESULTS"
