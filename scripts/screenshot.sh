#!/usr/bin/env bash
# screenshot.sh: regenerates docs/report.png, the README's picture of the
# report.html that the README's first command writes. It runs
#
#   juicebatch apply --sandbox --map testdata/crm-mapping.json --phone-region NG testdata/crm-export.csv
#
# in a temporary directory (an in-process sandbox: nothing leaves the
# machine) and screenshots the page in headless Chromium.
#
#   scripts/screenshot.sh [--out FILE] [--size WxH]
#
#   --out FILE   where to write the PNG (default docs/report.png)
#   --size WxH   the browser window (default 1000,1340: the whole demo page)
#
# Needs Go and chromium (Debian: apt-get install chromium) or chromium-browser.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$root/docs/report.png"
size="1000,1340"
while [[ $# -gt 0 ]]; do
	case "$1" in
	--out) out="$2"; shift 2 ;;
	--size) size="${2/x/,}"; shift 2 ;;
	-h | --help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "screenshot.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
	esac
done
browser=""
for b in chromium chromium-browser; do
	if command -v "$b" >/dev/null 2>&1; then browser="$b"; break; fi
done
[[ -n "$browser" ]] || { echo "screenshot.sh: no chromium or chromium-browser on PATH (Debian: apt-get install chromium)" >&2; exit 1; }

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$root" && go build -o "$tmp/juicebatch" ./cmd/juicebatch)
set +e
# The demo's files are copied in, so the page shows the names a user sees.
cp "$root/testdata/crm-mapping.json" "$root/testdata/crm-export.csv" "$tmp/"
(cd "$tmp" && ./juicebatch apply --sandbox --map crm-mapping.json --phone-region NG crm-export.csv \
	--log-format text >"$tmp/apply.log" 2>&1)
code=$?
set -e
if [[ "$code" -ne 3 ]]; then
	cat "$tmp/apply.log" >&2
	echo "screenshot.sh: the demo exited $code; want 3 (its one invalid row)" >&2
	exit 1
fi
mkdir -p "$(dirname "$out")"
HOME="$tmp" "$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run \
	--user-data-dir="$tmp/profile" --window-size="$size" --screenshot="$out" \
	"file://$tmp/juicebatch-report/report.html" >/dev/null 2>&1
echo "wrote $out ($(wc -c <"$out") bytes)"
