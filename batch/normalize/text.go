package normalize

import (
	"fmt"
	"net/mail"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/juicebatch/juicebatch/batch/input"
)

// clean applies the rules every value gets: UTF-8, trimming, blank. The
// Value it returns is Absent, Clear, or Set with trimmed, non-empty text;
// reason is why the value makes the row invalid; warning is the problem a
// control character or byte-order mark inside the text makes (the update
// endpoint forbids neither, so the value is sent as it is).
func (n *Normalizer) clean(v input.Value) (val input.Value, reason, warning string) {
	switch v.State {
	case input.Absent:
		return input.Value{}, "", ""
	case input.Clear:
		return input.Value{State: input.Clear}, "", ""
	case input.Set:
	default:
		return input.Value{}, fmt.Sprintf("unknown value state %d", v.State), ""
	}
	if !utf8.ValidString(v.Text) {
		i := firstInvalidUTF8(v.Text)
		return input.Value{}, fmt.Sprintf("not valid UTF-8 (byte 0x%02x at offset %d): %s", v.Text[i], i, quote(v.Text)), ""
	}
	t := strings.TrimSpace(v.Text)
	if t == "" {
		if n.blankClears {
			return input.Value{State: input.Clear}, "", ""
		}
		return input.Value{}, "", ""
	}
	return input.Value{State: input.Set, Text: t}, "", controlWarning(t)
}

func firstInvalidUTF8(s string) int {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			return i
		}
		i += size
	}
	return 0
}

// byteOrderMark is U+FEFF. strings.TrimSpace keeps it (it is not white
// space), so a BOM left inside a cell would otherwise be sent.
const byteOrderMark = '\uFEFF'

// isControl reports C0 controls, DEL and C1 controls.
func isControl(r rune) bool {
	return r < 0x20 || (r >= 0x7f && r <= 0x9f)
}

func describeControl(r rune) string {
	switch r {
	case '\t':
		return "a tab (U+0009)"
	case '\n':
		return "a line break (U+000A)"
	case '\r':
		return "a carriage return (U+000D)"
	case 0:
		return "a NUL byte (U+0000)"
	}
	return fmt.Sprintf("control character U+%04X", r)
}

// quote quotes a value for a reason with Go syntax (so invisible and
// invalid bytes show), cut to maxQuoted runes.
func quote(s string) string {
	n := 0
	for i := range s {
		if n == maxQuoted {
			return strconv.Quote(s[:i] + "…")
		}
		n++
	}
	return strconv.Quote(s)
}

// checkID checks a trimmed, non-empty id against ^[A-Za-z0-9_-]{1,64}$.
func checkID(s string) string {
	for _, r := range s {
		if !isIDChar(r) {
			return fmt.Sprintf(`contains %s; only A-Z, a-z, 0-9, "_" and "-" are allowed: %s`, describeRune(r), quote(s))
		}
	}
	if len(s) > maxIDLen {
		return fmt.Sprintf("longer than %d characters: %d characters, %s", maxIDLen, len(s), quote(s))
	}
	return ""
}

func isIDChar(r rune) bool {
	return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '_' || r == '-'
}

// describeRune names a character in a reason: `"/"`, or `a space`.
func describeRune(r rune) string {
	switch r {
	case ' ':
		return "a space"
	case '\u00a0':
		return "a no-break space (U+00A0)"
	}
	if unicode.IsPrint(r) {
		return strconv.Quote(string(r))
	}
	return fmt.Sprintf("%U", r)
}

func isNameChar(r rune) bool {
	if r < utf8.RuneSelf {
		return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || r == ' ' || r == '-' || r == '\''
	}
	return r == '\u2019' || unicode.IsLetter(r) || unicode.Is(unicode.M, r)
}

// checkEmail validates a trimmed, non-empty email and returns it with the
// domain lower-cased, with warnings about what the update endpoint accepts
// but mail is unlikely to reach.
//
// What refuses is what the endpoint refuses, a bare address as RFC 5322
// (net/mail) reads it: no "@", a malformed local part or domain, a display
// name, angle brackets, quoted parts. What only warns is what goes beyond
// that syntax: the lengths RFC 5321 sets (254 in all, 64 before the "@")
// and the shape of a host name (a dot, labels of letters, digits and
// hyphens, a top-level label that is not a number): "ann@localhost" is a
// valid address the endpoint takes.
func checkEmail(s string) (string, []Warning, string) {
	if !strings.Contains(s, "@") {
		return "", nil, `not an email address (no "@"): ` + quote(s)
	}
	if at := strings.LastIndexByte(s, '@'); !dotAtom(s[:at]) || !dotAtom(s[at+1:]) {
		// Anything but the plain dot-atom form (quoted local parts,
		// comments, display names, angle brackets, non-ASCII) goes
		// through net/mail, which finds what is wrong. The plain form,
		// nearly every address in an export, is what net/mail would
		// accept as it stands, at a fraction of its cost.
		if reason := checkMailbox(s); reason != "" {
			return "", nil, reason
		}
	}
	at := strings.LastIndexByte(s, '@')
	local, domain := s[:at], s[at+1:]
	lower := strings.ToLower(domain)
	out := s
	if lower != domain {
		out = local + "@" + lower
	}
	var warns []Warning
	warn := func(problem, detail string) {
		warns = append(warns, Warning{Field: keyEmail, Problem: problem, Detail: detail})
	}
	if len(out) > maxEmailLen {
		warn(fmt.Sprintf("longer than the %d characters an address may have (RFC 5321)", maxEmailLen),
			fmt.Sprintf("%d characters as sent, %s", len(out), quote(s)))
	}
	if len(local) > maxLocalLen {
		warn(fmt.Sprintf("part before \"@\" longer than the %d characters it may have (RFC 5321)", maxLocalLen),
			fmt.Sprintf("%d characters, %s", len(local), quote(s)))
	}
	if reason := checkHost(lower); reason != "" {
		warn("domain "+reason+" (not a host name mail can reach)", quote(s))
	}
	return out, warns, ""
}

// dotAtom reports whether local is an RFC 5322 dot-atom of ASCII characters:
// atext runs separated by single dots.
func dotAtom(local string) bool {
	if local == "" || local[0] == '.' || local[len(local)-1] == '.' {
		return false
	}
	for i := 0; i < len(local); i++ {
		c := local[i]
		switch {
		case c == '.':
			if local[i-1] == '.' {
				return false
			}
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+/=?^_`{|}~-", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// hostChars reports whether d holds only characters a host name may have
// (and dots): a domain net/mail reads as a plain dot-atom.
func hostChars(d string) bool {
	for _, r := range d {
		if r != '.' && !isHostChar(r) {
			return false
		}
	}
	return true
}

// checkMailbox runs an address net/mail's way and says what keeps it from
// being a bare address, or "".
func checkMailbox(s string) string {
	a, err := mail.ParseAddress(s)
	if err != nil {
		return "not a valid email address: " + quote(s)
	}
	if a.Name != "" {
		return fmt.Sprintf("has a display name or comment; give only the address: %s in %s", quote(a.Address), quote(s))
	}
	if a.Address != s {
		if strings.HasPrefix(s, "<") {
			return fmt.Sprintf("not a bare address; give it without angle brackets: %s in %s", quote(a.Address), quote(s))
		}
		return "not a bare address (quoted parts and comments are not accepted): " + quote(s)
	}
	return ""
}

// checkHost reports why d is not a plausible host name, or "".
func checkHost(d string) string {
	if len(d) > maxHostLen {
		return fmt.Sprintf("is longer than %d characters", maxHostLen)
	}
	if !strings.Contains(d, ".") {
		return "has no dot"
	}
	for {
		label, rest, found := strings.Cut(d, ".")
		if label == "" {
			return "has an empty label"
		}
		if len(label) > maxLabelLen {
			return fmt.Sprintf("has a label longer than %d characters", maxLabelLen)
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return "has a label that starts or ends with a hyphen"
		}
		for _, r := range label {
			if !isHostChar(r) {
				return fmt.Sprintf("contains %s", describeRune(r))
			}
		}
		if !found {
			if strings.Trim(label, "0123456789") == "" {
				return "has a numeric top-level label"
			}
			return ""
		}
		d = rest
	}
}

func isHostChar(r rune) bool {
	if r < utf8.RuneSelf {
		return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '-'
	}
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.M, r)
}

// unknownCountry is the warning for a country value that resolves to
// nothing: the problem (grouped in the report's reasons) and the detail.
func (n *Normalizer) unknownCountry(s string) (problem, detail string) {
	const sent = "; sent as written"
	if codes := n.countries.ambiguous[countryKey(s)]; len(codes) > 0 {
		var b strings.Builder
		for i, code := range codes {
			if i > 0 {
				b.WriteString(" or ")
			}
			fmt.Fprintf(&b, "%s (%s)", n.countries.names[code], code)
		}
		return "ambiguous country (" + b.String() + ")" + sent, quote(s)
	}
	if name, code, ok := n.countries.suggestion(s); ok {
		return fmt.Sprintf("unknown country (did you mean %s, %s)%s", name, code, sent), quote(s)
	}
	return "unknown country (give an ISO 3166-1 code such as NG or GB, or an English name)" + sent, quote(s)
}
