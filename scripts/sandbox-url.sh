# sandbox-url.sh is sourced by the bench scripts, not run.
#
# sandbox_url OUT LOG WHO prints the URL a `juicebatch sandbox` started with
# its stdout in OUT announces ("sandbox listening on URL"), polling for at
# most 10 s; if none comes, it prints the sandbox's log (LOG) and exits the
# script, WHO naming it in the message.
sandbox_url() {
	local out="$1" log="$2" who="$3" u=""
	for _ in $(seq 100); do
		u="$(sed -n 's/^sandbox listening on //p' "$out")"
		[[ -n "$u" ]] && break
		sleep 0.1
	done
	if [[ -z "$u" ]]; then
		echo "$who: the sandbox did not start" >&2
		cat "$log" >&2
		exit 1
	fi
	echo "$u"
}
