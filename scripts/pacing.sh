#!/usr/bin/env bash
# pacing.sh: the real-pace check of issue 6 (not CI; it takes about three
# minutes). It starts `juicebatch sandbox` on 127.0.0.1 with its default
# limits (10 requests in any sliding minute, 1000 a day), runs
# `juicebatch apply` against it at the default --rate 10/min over 30
# generated rows (3 minutes' worth), then reads /_sandbox/stats and prints
# the rate the server saw against the allowed one, and the 429s (want 0).
#
#   scripts/pacing.sh [--rows N] [--other share|burst] [--keep DIR]
#
#   --rows N     rows to send (default 30: 3 minutes at 10/min)
#   --other M    another client spends the same key meanwhile (issue 13):
#                share: one update every 30 s (20 % of the key), from 13.7 s
#                burst: 6 updates at once at 61 s
#                each retried after its Retry-After on a 429; the script then
#                prints the run's 429s (want <= 2 % with share), how much of
#                what the other client left it used (want >= 90 % with
#                share), and the second half's pace (want >= 95 % of 10/min
#                after a burst); give it --rows 150 (15-20 minutes), so the
#                second half starts well after the burst has left the window
#   --keep DIR   work in DIR and keep the state, report and logs
#
# Needs Go and curl. Runs from any directory; nothing leaves 127.0.0.1.
set -euo pipefail

rows=30
keep=""
other=""
while [[ $# -gt 0 ]]; do
	case "$1" in
	--rows) rows="$2"; shift 2 ;;
	--keep) keep="$2"; shift 2 ;;
	--other) other="$2"; shift 2 ;;
	-h | --help) sed -n '2,/^# Needs Go/p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "pacing.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
	esac
done
[[ "$rows" =~ ^[1-9][0-9]*$ ]] || { echo "pacing.sh: --rows wants a positive number" >&2; exit 2; }
case "$other" in "" | share | burst) ;; *) echo "pacing.sh: --other wants share or burst" >&2; exit 2 ;; esac
command -v curl >/dev/null || { echo "pacing.sh: curl is needed" >&2; exit 1; }

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=sandbox-url.sh
source "$root/scripts/sandbox-url.sh"
if [[ -n "$keep" ]]; then
	mkdir -p "$keep"
	work="$(cd "$keep" && pwd)"
else
	work="$(mktemp -d "${TMPDIR:-/tmp}/juicebatch-pacing.XXXXXX")"
fi
sandbox_pid=""
other_pid=""
cleanup() {
	if [[ -n "$other_pid" ]]; then touch "$work/other.stop"; kill "$other_pid" 2>/dev/null || true; wait "$other_pid" 2>/dev/null || true; fi
	if [[ -n "$sandbox_pid" ]]; then kill "$sandbox_pid" 2>/dev/null || true; wait "$sandbox_pid" 2>/dev/null || true; fi
	if [[ -z "$keep" ]]; then rm -rf "$work"; fi
}
trap cleanup EXIT

(
	cd "$root"
	go build -o "$work/juicebatch" ./cmd/juicebatch
	go build -o "$work/benchgen" ./scripts/benchgen
)
"$work/benchgen" -rows "$rows" -clean -seed 7 -o "$work/pace.csv"
rm -f "$work/state.db"

key="test_pacing_check_key"
"$work/juicebatch" sandbox --listen 127.0.0.1:0 --keys "$key" --create-unknown --seed 1 \
	>"$work/sandbox.out" 2>"$work/sandbox.log" &
sandbox_pid=$!
url="$(sandbox_url "$work/sandbox.out" "$work/sandbox.log" pacing.sh)"

echo "pacing: $rows rows at the default --rate 10/min against $url (sandbox defaults: 10 per sliding minute)"
if [[ -z "$other" ]]; then
	echo "expected: about $(awk -v n="$rows" 'BEGIN { printf "%.0f", (n - 1) * 6.03 }') s"
fi

# other_send N: one update as the other client, with the run's key, tried
# again after Retry-After on a 429 (at most 60 times).
other_send() {
	local n=$1 tries=0 code wait
	while ((tries++ < 60)); do
		code=$(curl -sS -o /dev/null -D "$work/other-$n.h" -w '%{http_code}' -X PATCH \
			-H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
			--data "{\"email\":\"other$n@example.com\"}" "$url/customers/other-$n") || return 0
		[[ "$code" == 429 ]] || return 0
		wait=$(sed -n 's/^Retry-After: *\([0-9]*\).*/\1/Ip' "$work/other-$n.h")
		sleep "${wait:-1}"
	done
}
case "$other" in
share)
	echo "another client: one update every 30 s with the same key (20 % of it), from 13.7 s"
	(sleep 13.7; n=0; while [[ ! -e "$work/other.stop" ]]; do other_send "$n" & n=$((n + 1)); sleep 30; done) &
	other_pid=$!
	;;
burst)
	echo "another client: 6 updates at once at 61 s with the same key"
	(sleep 61; for n in 0 1 2 3 4 5; do other_send "$n" & done; wait) &
	other_pid=$!
	;;
esac
start=$(date +%s%N)
rc=0
JUICEBATCH_API_KEY="$key" "$work/juicebatch" apply --base-url "$url" --state "$work/state.db" \
	--report "$work/report" --no-progress --log-format json "$work/pace.csv" >"$work/apply.out" 2>"$work/apply.log" || rc=$?
end=$(date +%s%N)
if [[ $rc != 0 ]]; then
	echo "pacing.sh: apply exited $rc:" >&2
	tail -5 "$work/apply.log" >&2
	exit 1
fi

if [[ -n "$other_pid" ]]; then
	# The loop stops at its next turn; a sleep it started ends on its own.
	touch "$work/other.stop"
	kill "$other_pid" 2>/dev/null || true
	wait "$other_pid" 2>/dev/null || true
	other_pid=""
fi
stats="$(curl -fsS "$url/_sandbox/stats")"
# The instants the server saw each PATCH (its log, millisecond precision).
grep 'msg="sandbox request" method=PATCH' "$work/sandbox.log" | sed 's/^time=\([^ ]*\) .*/\1/' |
	while read -r t; do date -d "$t" +%s%N; done >"$work/arrivals.txt"
n=$(wc -l <"$work/arrivals.txt")
first=$(head -1 "$work/arrivals.txt")
last=$(tail -1 "$work/arrivals.txt")
limited=$(sed -n 's/.*"rate_limited": *\([0-9]*\).*/\1/p' <<<"$stats")

echo
echo "sandbox stats: $stats"
if [[ -n "$other" ]]; then
	# Every PATCH the sandbox answered: instant (ns), whose (ours/other), status.
	grep 'msg="sandbox request" method=PATCH' "$work/sandbox.log" |
		sed 's/^time=\([^ ]*\) .* path=\([^ ]*\) status=\([0-9]*\).*/\1 \2 \3/' |
		while read -r t path status; do
			who=ours
			[[ "$path" == */other-* ]] && who=other
			echo "$(date -d "$t" +%s%N) $who $status"
		done >"$work/shared.txt"
	awk '
		$2 == "ours" { n++; if ($3 == 429) l++; else { c++; t[c] = $1 } }
		$2 == "other" { on++; if ($3 == 429) ol++; else { oc++; ot[oc] = $1 } }
		END {
			span = (t[c] - t[1]) / 1e9
			for (i = 1; i <= oc; i++) if (ot[i] >= t[1] && ot[i] <= t[c]) inspan++
			mine = (c - 1) / span * 60; left = 10 - inspan / span * 60
			h = int(c / 2) + 1; hspan = (t[c] - t[h]) / 1e9
			want = mode == "share" ? "; want <= 2%" : ""
			printf "ours: %d requests, %d answered 429 (%.1f%%%s)\n", n, l, l * 100 / n, want
			printf "the other client: %d requests, %d answered 429, %d counted while the run sent\n", on, ol, inspan
			printf "the run sent %.2f/min of the %.2f/min the other client left: %.1f%%%s\n", mine, left, mine / left * 100, mode == "share" ? " (want >= 90%)" : ""
			printf "second half: %.2f/min, %.1f%% of 10/min%s\n", (c - h) / hspan * 60, (c - h) / hspan * 60 * 10, mode == "burst" ? " (want >= 95%)" : ""
			if (mode == "share" && l * 100 > 2 * n) { print "MISSED: more than 2% of the run'"'"'s requests got a 429"; exit 1 }
			if (mode == "share" && mine < 0.9 * left) { print "MISSED: the run used less than 90% of what the other client left"; exit 1 }
			if (mode == "burst" && (c - h) / hspan * 60 < 9.5) { print "MISSED: the second half paced below 95% of 10/min"; exit 1 }
		}' mode="$other" "$work/shared.txt" || exit 1
	exit 0
fi
awk -v n="$n" -v a="$first" -v b="$last" -v s="$start" -v e="$end" -v l="$limited" 'BEGIN {
	span = (b - a) / 1e9
	rate = (n - 1) / span * 60
	printf "requests the server answered: %d; 429s: %d (want 0)\n", n, l
	printf "first to last request: %.2f s for %d intervals: %.3f per minute = %.2f%% of the allowed 10/min (target >= 99%%)\n", span, n - 1, rate, rate / 10 * 100
	printf "whole run, start to exit: %.2f s\n", (e - s) / 1e9
}'
# The tightest sliding window: the span of any 11 consecutive requests must
# be over 60 s, or the server would have seen 11 in one minute.
awk 'NR > 0 { t[NR] = $1 } END {
	min = -1
	for (i = 11; i <= NR; i++) { d = (t[i] - t[i - 10]) / 1e9; if (min < 0 || d < min) min = d }
	if (min < 0) print "  (fewer than 11 requests: no full window to check)"
	else printf "  tightest 11 consecutive requests span %.3f s (> 60 s needed; the pacer keeps 60.3 s)\n", min
}' "$work/arrivals.txt"
if [[ "$limited" != 0 ]]; then
	echo "MISSED: the server answered 429"
	exit 1
fi
