#!/usr/bin/env bash
# bench.sh: issue 6's measurements of `juicebatch plan` against a floor, and
# of a resume, on generated files. Prints the machine, then one table. See
# BENCHMARKS.md for what the figures mean and what bounds them.
#
#   scripts/bench.sh [--runs N] [--quick] [--no-resume] [--profile]
#                    [--keep DIR] [--install-time]
#
#   --runs N        time every command N times and report the median (default 3)
#   --quick         only the 100k-row files (a check of the script, not a measurement)
#   --no-resume     skip the resume measurement
#   --profile       also profile plan over the 1M-row files (go test -cpuprofile
#                   and -memprofile of BenchmarkPlan) and print `go tool pprof -top`
#   --keep DIR      work in DIR (created) and keep the files; default: a temp dir,
#                   removed at exit. Generated data is never written to the repo.
#   --install-time  apt-get install -y time when GNU time is missing (needs root)
#   --nightly       only the nightly section (issue 14): `apply` on the same
#                   export night after night, 1% of rows changed each night,
#                   one state file; prints wall, CPU, peak RSS and state size
#                   per night. With --nightly-rows N (default 100000),
#                   --nights N (default 40), --nightly-dir DIR (where the
#                   state lives: default the work dir, on disk; /dev/shm for
#                   tmpfs)
#
# Needs Go, GNU time (/usr/bin/time; Debian/Ubuntu package "time") and curl.
# Runs from any directory. Nothing leaves the machine: the resume measurement
# talks to `juicebatch sandbox` on 127.0.0.1.
set -euo pipefail

runs=3
quick=0
resume=1
profile=0
keep=""
install_time=0
nightly=0
nightly_rows=100000
nights=40
nightly_dir=""
while [[ $# -gt 0 ]]; do
	case "$1" in
	--runs) runs="$2"; shift 2 ;;
	--quick) quick=1; shift ;;
	--no-resume) resume=0; shift ;;
	--profile) profile=1; shift ;;
	--keep) keep="$2"; shift 2 ;;
	--install-time) install_time=1; shift ;;
	--nightly) nightly=1; shift ;;
	--nightly-rows) nightly_rows="$2"; shift 2 ;;
	--nights) nights="$2"; shift 2 ;;
	--nightly-dir) nightly_dir="$2"; shift 2 ;;
	-h | --help) sed -n '2,28p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "bench.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
	esac
done
[[ "$runs" =~ ^[1-9][0-9]*$ ]] || { echo "bench.sh: --runs wants a positive number" >&2; exit 2; }

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=sandbox-url.sh
source "$root/scripts/sandbox-url.sh"

if ! /usr/bin/time --version 2>&1 | grep -q GNU; then
	if [[ $install_time == 1 ]]; then
		apt-get install -y time
	else
		echo "bench.sh: GNU time is needed at /usr/bin/time: install the Debian/Ubuntu package \"time\" (apt-get install time), or re-run with --install-time" >&2
		exit 1
	fi
fi
command -v curl >/dev/null || { echo "bench.sh: curl is needed for the resume measurement (or pass --no-resume)" >&2; [[ $resume == 0 ]] || exit 1; }

if [[ -n "$keep" ]]; then
	mkdir -p "$keep"
	work="$(cd "$keep" && pwd)"
else
	work="$(mktemp -d "${TMPDIR:-/tmp}/juicebatch-bench.XXXXXX")"
fi
sandbox_pid=""
# start_sandbox LIMIT starts a sandbox for $key allowing LIMIT requests a
# minute and a day, logging to $slog; it sets sandbox_pid and url (polled
# from its "listening on" line, at most 10 s).
start_sandbox() {
	"$bin/juicebatch" sandbox --listen 127.0.0.1:0 --keys "$key" --create-unknown \
		--per-minute "$1" --per-day "$1" --seed 1 >"$work/sandbox.out" 2>"$slog" &
	sandbox_pid=$!
	url="$(sandbox_url "$work/sandbox.out" "$slog" bench.sh)"
}
cleanup() {
	if [[ -n "$sandbox_pid" ]]; then kill "$sandbox_pid" 2>/dev/null || true; wait "$sandbox_pid" 2>/dev/null || true; fi
	if [[ -z "$keep" ]]; then rm -rf "$work"; fi
}
trap cleanup EXIT
bin="$work/bin"
data="$work/data"
mkdir -p "$bin" "$data" "$work/runs"

# --- the machine -----------------------------------------------------------
commit="$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"
if [[ -n "$(git -C "$root" status --porcelain -- batch checkpoint report ratelimit cmd 2>/dev/null)" ]]; then
	commit="$commit (with uncommitted changes under batch/ checkpoint/ report/ ratelimit/ cmd/)"
fi
echo "juicebatch bench: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "  commit:  $commit"
echo "  cpus:    $(nproc) ($(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'))"
echo "  memory:  $(awk '/MemTotal/ {printf "%.1f GB", $2/1048576}' /proc/meminfo)"
echo "  go:      $(cd "$root" && go version)"
echo "  load:    $(cut -d' ' -f1-3 /proc/loadavg) (the machine may be shared: every figure is the median of $runs runs)"
echo "  work:    $work"
echo

# --- build -----------------------------------------------------------------
(
	cd "$root"
	go build -o "$bin/juicebatch" ./cmd/juicebatch
	go build -o "$bin/floor" ./scripts/floor
	go build -o "$bin/benchgen" ./scripts/benchgen
)

# --- nightly (issue 14) -----------------------------------------------------
# Night 1 sends every row; each later night's file is the night before's
# with 1% of its rows changed (a first name gets the night's number), so
# 1% of rows are sent. The sandbox runs as its own process, so its memory
# is not counted; the state and the file stay between nights, each night
# gets a new report directory. Nothing is faked between nights: every
# night is the real binary with fsync on. The pace, 100 per 10 ms, is as
# fast as the machine goes; it is not 1000000/s because the pacer keeps a
# window of N send instants and re-sorts it on every answer. --refresh none:
# the sandbox creates customers it does not know on PATCH (--create-unknown),
# but under the default --refresh auto night 1 reads each customer first,
# finds none, and rejects every row (exit 3) without sending.
if [[ $nightly == 1 ]]; then
	ndir="${nightly_dir:-$work/nightly}"
	mkdir -p "$ndir"
	ndir="$(cd "$ndir" && pwd)"
	nstate="$ndir/state-$nightly_rows.db"
	rm -f "$nstate"
	key="test_bench_nightly_key"
	"$bin/benchgen" -rows "$nightly_rows" -phones e164 -seed 1 -clean -o "$data/night-gen.csv"
	# Emails made unique (the row number in the local part), so that the
	# sandbox rejects none as used by another customer.
	awk -F, -v OFS=, 'NR > 1 && $4 ~ /@/ { $4 = NR "." $4 } { print }' "$data/night-gen.csv" >"$data/night-0.csv"
	rm -f "$data/night-gen.csv"
	slog="$work/sandbox-nightly.log"
	start_sandbox 100000000
	echo "nightly: $nightly_rows customers, 1% changed a night, state in $ndir ($(df --output=fstype "$ndir" | tail -1))"
	printf "%5s %9s %8s %7s %7s %9s %11s\n" night sent wall_s cpu_s rss_MB state_MB state_B/cust
	prev="$data/night-0.csv"
	for ((night = 1; night <= nights; night++)); do
		in="$data/night-$night.csv"
		if [[ $night == 1 ]]; then
			cp "$prev" "$in"
		else
			# Rows whose number falls on this night's 1% get a new first name.
			# (A first name takes letters only: the night's number in base 26.)
			awk -F, -v OFS=, -v n="$night" '
				BEGIN { m = n; while (m > 0) { suf = suf sprintf("%c", 97 + m % 26); m = int(m / 26) } }
				NR > 1 && (NR * 7919 + n * 104729) % 100 == 0 { $2 = $2 suf } { print }' "$prev" >"$in"
			rm -f "$prev"
		fi
		prev="$in"
		rc=0
		JUICEBATCH_API_KEY="$key" /usr/bin/time -v -o "$work/time-v.txt" "$bin/juicebatch" apply \
			--base-url "$url" --state "$nstate" --report "$ndir/report-$night" \
			--daily-budget 100000000 --rate 100/10ms --concurrency 8 --refresh none \
			--no-progress --log-format json "$in" >/dev/null 2>"$work/last.err" || rc=$?
		if [[ $rc != 0 ]]; then
			echo "bench.sh: night $night exited $rc:" >&2
			tail -5 "$work/last.err" >&2
			exit 1
		fi
		sent="$(sed -n 's/.*"requests": *\([0-9]*\).*/\1/p' "$ndir/report-$night/summary.json" | head -1)"
		rm -rf "$ndir/report-$night"
		size=$(stat -c %s "$nstate")
		awk -F': ' -v night="$night" -v sent="$sent" -v size="$size" -v rows="$nightly_rows" '
			/Elapsed \(wall clock\)/ { n = split($2, p, ":"); w = 0; for (i = 1; i <= n; i++) w = w * 60 + p[i] }
			/Maximum resident set size/ { rss = $2 }
			/User time/ { u = $2 }
			/System time/ { s = $2 }
			END { printf "%5d %9d %8.2f %7.2f %7.1f %9.1f %11.0f\n", night, sent, w, u + s, rss / 1024, size / 1048576, size / rows }' "$work/time-v.txt"
	done
	rm -f "$prev"
	kill "$sandbox_pid" 2>/dev/null || true
	wait "$sandbox_pid" 2>/dev/null || true
	sandbox_pid=""
	exit 0
fi

# --- generate (deterministic: same seed, same bytes) -----------------------
# A .gz file is its plain file compressed by gzip(1) at its default level,
# as warehouse exports are; it comes after the plain file it is made from.
files=(e164-100k.csv e164-100k.ndjson national-100k.csv e164-100k.csv.gz)
if [[ $quick == 0 ]]; then
	files+=(e164-1m.csv e164-1m.ndjson national-1m.csv e164-1m.csv.gz)
fi
for f in "${files[@]}"; do
	if [[ $f == *.gz ]]; then
		[[ -s "$data/$f" ]] || gzip -c "$data/${f%.gz}" >"$data/$f"
		continue
	fi
	phones="${f%%-*}"
	size="${f#*-}"
	size="${size%%.*}"
	rows=100000
	[[ $size == 1m ]] && rows=1000000
	[[ -s "$data/$f" ]] || "$bin/benchgen" -rows "$rows" -phones "$phones" -seed 1 -o "$data/$f"
done

# --- measuring -------------------------------------------------------------
# timed OUT CMD...: runs CMD under GNU time -v; writes "wall rss_kb cpu" to OUT.
# Exit codes 0 and 3 (plan: some rows invalid) count as success.
timed() {
	local out="$1"
	shift
	local tv="$work/time-v.txt" rc=0
	/usr/bin/time -v -o "$tv" "$@" >"$work/last.out" 2>"$work/last.err" || rc=$?
	if [[ $rc != 0 && $rc != 3 ]]; then
		echo "bench.sh: $* exited $rc:" >&2
		tail -5 "$work/last.err" >&2
		exit 1
	fi
	awk -F': ' '
		/Elapsed \(wall clock\)/ { n = split($2, p, ":"); w = 0; for (i = 1; i <= n; i++) w = w * 60 + p[i] }
		/Maximum resident set size/ { rss = $2 }
		/User time/ { u = $2 }
		/System time/ { s = $2 }
		END { printf "%.2f %d %.2f\n", w, rss, u + s }' "$tv" >"$out"
}

# median FILE COLUMN: the median of a column of numbers.
median() {
	awk -v c="$2" '{ print $c }' "$1" | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# rows_of FILE: data rows (CSV: lines but the header; no field spans lines here).
rows_of() {
	local n
	n=$(wc -l <"$1")
	case "$1" in *.csv) echo $((n - 1)) ;; *) echo "$n" ;; esac
}

results="$work/results.txt"
: >"$results"
n=0
for f in "${files[@]}"; do
	path="$data/$f"
	plain="${path%.gz}" # the floor reads the plain file: it is what gzip costs on top
	: >"$work/plan.txt"
	: >"$work/floor.txt"
	for ((i = 1; i <= runs; i++)); do
		n=$((n + 1))
		cat "$path" >/dev/null # the file is cached for both, as in the issue's figures
		timed "$work/one.txt" "$bin/floor" "$plain"
		cat "$work/one.txt" >>"$work/floor.txt"
		load="$(cut -d' ' -f1 /proc/loadavg)"
		timed "$work/one.txt" "$bin/juicebatch" plan --state "$work/runs/no-state-$n.db" \
			--report "$work/runs/report-$n" --no-progress --log-format json "$path"
		echo "$(cat "$work/one.txt") $load" >>"$work/plan.txt"
		rm -rf "$work/runs/report-$n"
	done
	range="$(sort -g "$work/plan.txt" | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%.2f-%.2f", lo, hi }')"
	echo "$f $(rows_of "$plain") $(stat -c %s "$path") $(median "$work/floor.txt" 1) $(median "$work/floor.txt" 2) $(median "$work/plan.txt" 1) $(median "$work/plan.txt" 2) $(median "$work/plan.txt" 3) $range $(median "$work/plan.txt" 4)" >>"$results"
done

# --- resume: a 1M-row run that is 90 % done --------------------------------
resume_line=""
if [[ $resume == 1 ]]; then
	rfile="$data/e164-1m.csv"
	[[ $quick == 1 ]] && rfile="$data/e164-100k.csv"
	key="test_bench_resume_key"
	slog="$work/sandbox.log"
	start_sandbox 100000
	# The run id: plan names the run apply would resume (same file, flags,
	# base URL and key); benchgen -mkstate records 90 % of its rows done.
	JUICEBATCH_API_KEY="$key" "$bin/juicebatch" plan --base-url "$url" --state "$work/runs/no-state-resume.db" \
		--report "$work/runs/resume-plan" --no-progress --log-format json "$rfile" >/dev/null 2>&1 || [[ $? == 3 ]]
	run_id="$(sed -n 's/.*"run_id": *"\([^"]*\)".*/\1/p' "$work/runs/resume-plan/summary.json")"
	rm -f "$work/runs/resume-90.db"
	JUICEBATCH_API_KEY="$key" "$bin/benchgen" -mkstate -input "$rfile" -state "$work/runs/resume-90.db" \
		-run-id "$run_id" -base-url "$url" -done 0.9 >/dev/null
	: >"$work/resume.txt"
	for ((i = 1; i <= runs; i++)); do
		cp "$work/runs/resume-90.db" "$work/runs/resume-$i.db"
		before=$(grep -c 'msg="sandbox request" method=PATCH' "$slog" || true)
		rc=0
		start=$(date +%s%N)
		# --daily-budget 1: the first pending row is sent, then the run stops
		# (exit 4) as on a spent budget and writes its report.
		JUICEBATCH_API_KEY="$key" /usr/bin/time -v -o "$work/time-v.txt" "$bin/juicebatch" apply \
			--base-url "$url" --state "$work/runs/resume-$i.db" --report "$work/runs/resume-report-$i" \
			--daily-budget 1 --rate 100/s --no-progress --log-format json "$rfile" >/dev/null 2>"$work/last.err" || rc=$?
		if [[ $rc != 4 ]]; then
			echo "bench.sh: resume run exited $rc, want 4 (stopped on the budget):" >&2
			tail -5 "$work/last.err" >&2
			exit 1
		fi
		first="$(grep 'msg="sandbox request" method=PATCH' "$slog" | sed -n "$((before + 1))p" | sed 's/^time=\([^ ]*\) .*/\1/')"
		[[ -n "$first" ]] || { echo "bench.sh: the resumed run sent nothing" >&2; exit 1; }
		first_ns=$(date -d "$first" +%s%N)
		wall_rss=$(awk -F': ' '
			/Elapsed \(wall clock\)/ { n = split($2, p, ":"); w = 0; for (i = 1; i <= n; i++) w = w * 60 + p[i] }
			/Maximum resident set size/ { rss = $2 }
			END { printf "%.2f %d", w, rss }' "$work/time-v.txt")
		echo "$(awk -v a="$start" -v b="$first_ns" 'BEGIN { printf "%.2f", (b - a) / 1e9 }') $wall_rss" >>"$work/resume.txt"
		rm -rf "$work/runs/resume-report-$i" "$work/runs/resume-$i.db"
	done
	kill "$sandbox_pid" 2>/dev/null || true
	wait "$sandbox_pid" 2>/dev/null || true
	sandbox_pid=""
	resume_line="$(basename "$rfile") 90% done: first pending row sent after $(median "$work/resume.txt" 1) s (whole run to its stop $(median "$work/resume.txt" 2) s, peak RSS $(awk '{ printf "%.0f", $1 / 1024 }' <<<"$(median "$work/resume.txt" 3)") MB)"
fi

# --- the table -------------------------------------------------------------
echo "plan (no state, fresh --state and --report each run) vs floor; median of $runs runs, file cached"
echo "floor: CSV = encoding/csv -> json.Marshal -> SHA-256 per row; NDJSON = a bare json.Decoder pass"
echo
awk '
	BEGIN {
		printf "%-18s %8s %6s | %7s %8s | %7s %12s %8s %8s %7s %5s | %6s\n", "file", "rows", "MB", "floor s", "floor MB", "plan s", "(min-max)", "rows/s", "peak MB", "cpu s", "load", "ratio"
		printf "%s\n", "----------------------------------------------------------------------------------------------------------------"
	}
	{
		printf "%-18s %8d %6.1f | %7.2f %8.1f | %7.2f %12s %8.0f %8.1f %7.2f %5.2f | %5.2fx\n", $1, $2, $3 / 1e6, $4, $5 / 1024, $6, $9, $2 / $6, $7 / 1024, $8, $10, $6 / $4
	}' "$results"
echo "(plan s, peak MB, cpu s: medians; cpu s = user + sys; load = the 1-minute load average as each plan started."
echo " With load above ~1 another process holds a core, and plan's wall time goes toward its cpu time."
echo " A .csv.gz row: MB is the compressed size; its floor is the plain file's.)"
echo
# gzip's cost: plan of FILE.gz against plan of FILE (each median).
for g in $(awk '$1 ~ /\.gz$/ { print $1 }' "$results"); do
	awk -v g="$g" -v p="${g%.gz}" '
		$1 == g { gs = $6; gc = $8; gm = $7; gb = $3 } $1 == p { ps = $6; pc = $8; pm = $7; pb = $3 }
		END { printf "gzip: %s plan %.2f s (cpu %.2f s, peak %.1f MB) vs %s %.2f s (cpu %.2f s, peak %.1f MB): %+.0f%% wall, %+.0f%% cpu; %.1f MB stored instead of %.1f\n", g, gs, gc, gm / 1024, p, ps, pc, pm / 1024, (gs / ps - 1) * 100, (gc / pc - 1) * 100, gb / 1e6, pb / 1e6 }' "$results"
done
echo
[[ -n "$resume_line" ]] && echo "resume: $resume_line" && echo

# --- targets (issue 6) -------------------------------------------------------
field() { awk -v f="$1" -v c="$2" '$1 == f { print $c }' "$results"; }
verdict() { if awk "BEGIN { exit !($1) }"; then echo "met"; else echo "MISSED"; fi; }
echo "targets (2 cores):"
if [[ $quick == 0 ]]; then
	r=$(awk '$1 == "e164-1m.csv" { printf "%.2f", $6 / $4 }' "$results")
	echo "  1M mostly-E.164 CSV within 3x the floor:  ${r}x  $(verdict "$r <= 3")"
	s=$(field national-1m.csv 6)
	echo "  1M national-format CSV <= 12 s:           ${s} s  $(verdict "$s <= 12")"
	r=$(awk '$1 == "e164-1m.ndjson" { printf "%.2f", $6 / $4 }' "$results")
	echo "  1M NDJSON within 1.5x a json.Decoder pass: ${r}x  $(verdict "$r <= 1.5")"
	m=$(awk '{ if ($7 > m) m = $7 } END { printf "%.1f", m / 1024 }' "$results")
	echo "  peak RSS <= 64 MB (largest of all plans):  ${m} MB  $(verdict "$m <= 64")"
	a=$(awk '$1 == "e164-100k.csv" { printf "%.1f", $7 / 1024 }' "$results")
	b=$(awk '$1 == "e164-1m.csv" { printf "%.1f", $7 / 1024 }' "$results")
	echo "  RSS flat 100k -> 1M (CSV, within 25%):     ${a} -> ${b} MB  $(verdict "$b <= $a * 1.25")"
	if [[ $resume == 1 ]]; then
		t=$(median "$work/resume.txt" 1)
		echo "  resume of a 90%-done 1M run, first pending row <= 5 s: ${t} s  $(verdict "$t <= 5")"
	fi
else
	echo "  (--quick: targets are for the 1M-row files; not judged)"
fi

# --- profiles ----------------------------------------------------------------
if [[ $profile == 1 && $quick == 0 ]]; then
	echo
	mkdir -p "$work/prof"
	(cd "$root" && go test -c -o "$work/prof/batch.test" ./batch/)
	for f in e164-1m.csv national-1m.csv e164-1m.ndjson; do
		p="$work/prof/${f//./-}"
		(cd "$root/batch" && JUICEBATCH_BENCH_FILE="$data/$f" "$work/prof/batch.test" -test.run '^$' \
			-test.bench '^BenchmarkPlan$/^file$' -test.benchtime 1x \
			-test.cpuprofile "$p.cpu" >"$p.bench.txt")
		(cd "$root/batch" && JUICEBATCH_BENCH_FILE="$data/$f" "$work/prof/batch.test" -test.run '^$' \
			-test.bench '^BenchmarkPlan$/^file$' -test.benchtime 1x \
			-test.memprofile "$p.mem" -test.memprofilerate 65536 >/dev/null)
		echo "== plan $f: $(grep -o '[0-9.]* ns/row' "$p.bench.txt") (under the profiler)"
		echo "-- CPU, cumulative"
		go tool pprof -top -cum -nodecount 35 "$work/prof/batch.test" "$p.cpu" 2>/dev/null | sed -n '/flat%/,$p'
		echo "-- allocated bytes"
		go tool pprof -top -sample_index alloc_space -nodecount 20 "$work/prof/batch.test" "$p.mem" 2>/dev/null | sed -n '/flat%/,$p'
	done
	echo "profiles: $work/prof (use --keep DIR to keep them)"
fi
