package normalize

import (
	"strconv"
	"strings"

	"github.com/nyaruka/phonenumbers"
	"google.golang.org/protobuf/proto"
)

// nationalE164 is the fast path for a national-format number read in
// region, the common case of CRM exports ("0803 123 4567",
// "(415) 555-2671"). It returns the E.164 form and true only when it is sure
// that phonenumbers.Parse(s, region) followed by IsValidNumber and
// Format(E164) would give that same valid number; otherwise it returns
// false and the caller takes the full path, which also finds the reason for
// an invalid number. It answers for valid numbers only.
//
// Why it can skip Parse (about two thirds of the 15 to 19 µs a national
// number costs): s holds nothing but ASCII digits and the separators space,
// "-", ".", "(", ")" and "/". With no letter, "+", "#", ";", "," or "~",
// none of Parse's extension, RFC 3966, second-number or vanity-number
// regexps can match, and what Parse reads is just the digits of s. What is
// left of Parse is then a few region-dependent decisions, replayed below in
// Parse's own order from the region's metadata (the same *PhoneMetadata
// values the library reads), declining whenever one needs a regexp it
// cannot evaluate without compiling one:
//
//  1. An international dialling prefix (the region's InternationalPrefix,
//     such as "009" in NG or "011" in the US) at the start makes Parse read
//     a calling code: decline when the prefix might match (see mayMatch).
//  2. Digits starting with the region's own calling code ("1 415 555 2671"
//     in the US, "7 912 ..." in RU) are read as calling code plus national
//     number when the whole is too long for the region, else only after
//     regexp tests: answer only in the too-long case, and only when no
//     national prefix follows.
//  3. The national prefix (NationalPrefixForParsing: "0", "1", "06",
//     "0|180020"...) is stripped, unless stripping would leave a number
//     that does not match the region's general pattern while the digits as
//     written did, or a number of impossible length. Answer only when the
//     pattern is a list of literal alternatives before any alternative that
//     might match (see nationalPrefix) and no NationalPrefixTransformRule
//     applies. The length test is replayed exactly (lengthResult). The
//     pattern test needs no regexp either: usually the general pattern
//     cannot match the digits as written, prefix and all (mayMatch says so
//     from its first characters: GB's "[1-357-9]\d{9}|..." never starts
//     with 0), and then Parse strips whatever the stripped number is.
//     Otherwise the stripped number is accepted only when it is valid for
//     that very region (GetRegionCodeForNumber(num) == region and
//     IsValidNumberForRegion, which together are IsValidNumber), since a
//     number valid for a region matches its general pattern.
//  4. A national number with a leading zero (Italy's fixed lines, or
//     anything with a zero left after the prefix) gets ItalianLeadingZero
//     and a count of zeros: decline.
//
// What remains is IsValidNumber (about 3 µs; see isValid) and a string.
func nationalE164(s, region string) (string, bool) {
	if len(s) > phonenumbers.MAX_INPUT_STRING_LENGTH {
		return "", false
	}
	// The digits, at most a calling code (3) and a national significant
	// number (17) long.
	var buf [phonenumbers.MAX_LENGTH_COUNTRY_CODE + phonenumbers.MAX_LENGTH_FOR_NSN]byte
	d := buf[:0]
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case isDigit(c):
			if len(d) == len(buf) {
				return "", false
			}
			d = append(d, c)
		case c == ' ' || c == '-' || c == '.' || c == '(' || c == ')' || c == '/':
		default:
			return "", false
		}
	}
	// Parse needs at least three digits once there is punctuation.
	if len(d) < 3 {
		return "", false
	}
	digits := string(d)

	meta := regionMetadata(region)
	if meta == nil {
		return "", false
	}
	// 1. The international dialling prefix.
	if mayMatch(meta.GetInternationalPrefix(), digits) {
		return "", false
	}
	cc := meta.GetCountryCode()
	var ccBuf [8]byte
	ccDigits := strconv.AppendInt(ccBuf[:0], int64(cc), 10)

	nsn := digits
	sameRegion := false // the answer needs the number to be valid for region itself
	if strings.HasPrefix(digits, string(ccDigits)) {
		// 2. The region's own calling code, without "+".
		if r, ok := lengthResult(digits, meta); !ok || r != phonenumbers.TOO_LONG {
			return "", false
		}
		rest := digits[len(ccDigits):]
		if _, st := nationalPrefix(meta, rest); st != prefixNone {
			return "", false
		}
		// Parse goes on with the metadata of the calling code's main
		// region (US for +1, RU for +7), stripping its national prefix.
		if main := phonenumbers.GetRegionCodeForCountryCode(int(cc)); main != region {
			m := regionMetadata(main)
			if m == nil {
				return "", false
			}
			if _, st := nationalPrefix(m, rest); st != prefixNone {
				return "", false
			}
		}
		nsn = rest
	} else {
		// 3. The national prefix.
		n, st := nationalPrefix(meta, digits)
		switch st {
		case prefixUnknown:
			return "", false
		case prefixFound:
			stripped := digits[n:]
			r, ok := lengthResult(stripped, meta)
			if !ok {
				return "", false
			}
			if r == phonenumbers.IS_POSSIBLE || r == phonenumbers.TOO_LONG {
				// Parse keeps the prefix only if the digits as written
				// match the region's general pattern and the stripped
				// ones do not. Written with their prefix they usually
				// cannot match it at all (no region's numbers start
				// with its trunk 0); otherwise the stripped number must
				// be valid for this very region, which implies the
				// pattern.
				nsn = stripped
				sameRegion = mayMatch(meta.GetGeneralDesc().GetNationalNumberPattern(), digits)
			}
			// Otherwise Parse keeps the digits as written, prefix and all.
		}
	}
	// 4. Leading zeros, and Parse's own length limits.
	if len(nsn) < phonenumbers.MIN_LENGTH_FOR_NSN || len(nsn) > phonenumbers.MAX_LENGTH_FOR_NSN || nsn[0] == '0' {
		return "", false
	}
	if len(ccDigits)+len(nsn) > maxE164Digits {
		return "", false // valid, perhaps, but longer than E.164 allows
	}
	nn, err := strconv.ParseUint(nsn, 10, 64)
	if err != nil {
		return "", false
	}
	num := &phonenumbers.PhoneNumber{CountryCode: proto.Int32(cc), NationalNumber: proto.Uint64(nn)}
	if !isValid(num, region, meta, sameRegion) {
		return "", false
	}
	// Format(num, E164) is "+", the calling code and the national
	// significant number, which has no leading zero here.
	var b strings.Builder
	b.Grow(1 + len(ccDigits) + len(nsn))
	b.WriteByte('+')
	b.Write(ccDigits)
	b.WriteString(nsn)
	return b.String(), true
}

// isValid is phonenumbers.IsValidNumber(num) for a number read in region
// (meta is its metadata), or, with sameRegion, whether the number is valid
// for region itself: GetRegionCodeForNumber(num) == region and
// IsValidNumberForRegion(num, region), which implies IsValidNumber.
//
// IsValidNumber is IsValidNumberForRegion(num, GetRegionCodeForNumber(num)),
// and for a calling code shared by several regions GetRegionCodeForNumber
// tries them in the library's order, running the full validity check of
// each one without LeadingDigits until one passes. So when region comes
// first (GB for +44, US for +1) and has no LeadingDigits, a number valid for
// it is found there, and one check answers where IsValidNumber runs the
// same one twice (about 3 µs saved for GB and US numbers).
func isValid(num *phonenumbers.PhoneNumber, region string, meta *phonenumbers.PhoneMetadata, sameRegion bool) bool {
	regions := phonenumbers.GetRegionCodesForCountryCode(int(num.GetCountryCode()))
	if len(regions) > 0 && regions[0] == region && meta.GetLeadingDigits() == "" {
		if phonenumbers.IsValidNumberForRegion(num, region) {
			return true // GetRegionCodeForNumber(num) == region
		}
		if sameRegion {
			return false // GetRegionCodeForNumber(num) != region
		}
		return phonenumbers.IsValidNumber(num) // valid for another region
	}
	if sameRegion {
		return phonenumbers.GetRegionCodeForNumber(num) == region && phonenumbers.IsValidNumberForRegion(num, region)
	}
	return phonenumbers.IsValidNumber(num)
}

// regionMetadata returns the library's metadata for a region code, the same
// value Parse reads, or nil. MetadataCollection returns the collection the
// library parsed once and built its own tables from; its geographic
// entries come sorted by region code, followed by the non-geographic ones
// ("001"), so a binary search finds a region without a table of our own (a
// Normalizer has no room for one, and the package keeps no state). Should a
// future version order them otherwise, regions are not found and every
// number takes the full path; TestRegionMetadata catches that.
func regionMetadata(region string) *phonenumbers.PhoneMetadata {
	coll, err := phonenumbers.MetadataCollection()
	if err != nil || coll == nil {
		return nil
	}
	list := coll.GetMetadata()
	key := func(m *phonenumbers.PhoneMetadata) string {
		if id := m.GetId(); id != phonenumbers.REGION_CODE_FOR_NON_GEO_ENTITY {
			return id
		}
		return "\x7f" // after every region code
	}
	lo, hi := 0, len(list)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if key(list[mid]) < region {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	if lo < len(list) && list[lo].GetId() == region {
		return list[lo]
	}
	return nil
}

// lengthResult is the library's testNumberLength(nsn, m, UNKNOWN), which
// Parse uses to decide whether to keep a stripped national prefix: the
// national significant number's length against the region's general
// possible lengths. It says false when the metadata has no lengths (the
// library would panic; the full path is left to do so).
func lengthResult(nsn string, m *phonenumbers.PhoneMetadata) (phonenumbers.ValidationResult, bool) {
	gd := m.GetGeneralDesc()
	possible := gd.GetPossibleLength()
	if len(possible) == 0 {
		return 0, false
	}
	if possible[0] == -1 {
		return phonenumbers.INVALID_LENGTH, true
	}
	n := int32(len(nsn))
	for _, l := range gd.GetPossibleLengthLocalOnly() {
		if l == n {
			return phonenumbers.IS_POSSIBLE_LOCAL_ONLY, true
		}
	}
	switch {
	case possible[0] == n:
		return phonenumbers.IS_POSSIBLE, true
	case possible[0] > n:
		return phonenumbers.TOO_SHORT, true
	case possible[len(possible)-1] < n:
		return phonenumbers.TOO_LONG, true
	}
	for _, l := range possible[1:] {
		if l == n {
			return phonenumbers.IS_POSSIBLE, true
		}
	}
	return phonenumbers.INVALID_LENGTH, true
}

// prefixState is what nationalPrefix knows of Parse's national-prefix match.
type prefixState int

const (
	prefixNone    prefixState = iota // the pattern does not match: nothing is stripped
	prefixFound                      // the pattern matches the first n digits
	prefixUnknown                    // it cannot tell without the regexp
)

// nationalPrefix replays the match of the region's NationalPrefixForParsing
// pattern, anchored at the start of the digits d, as Parse does it (Go's
// leftmost-first alternation: the first alternative that can match wins).
// An alternative that is a literal ("0", "06", "(1001)") is compared
// directly; any other alternative must be one mayMatch can rule out, or the
// answer is unknown. A match is unknown too when the region's
// NationalPrefixTransformRule applies to it, which rewrites the number
// instead of stripping the prefix: Parse applies the rule when the
// pattern's last capture group took part in the match, or when it has no
// group at all. GG's "([25-9]\d{5})$|0|180020" with "1481$1" rewrites a
// six-digit local number; a number matched by its "0" is only stripped.
func nationalPrefix(m *phonenumbers.PhoneMetadata, d string) (int, prefixState) {
	p := m.GetNationalPrefixForParsing()
	if p == "" {
		return 0, prefixNone // Parse strips nothing
	}
	if strings.Contains(p, "[:") {
		return 0, prefixUnknown // a POSIX class; the scanner below does not know them
	}
	for rest, more := p, true; more; {
		var alt string
		before := len(p) - len(rest) // where alt starts in p
		alt, rest, more = cutAlternative(rest)
		if lit, ok := literalDigits(alt); ok {
			if !strings.HasPrefix(d, lit) {
				continue
			}
			if m.GetNationalPrefixTransformRule() != "" {
				// Only alt's own group, if any, takes part in the match.
				groups := captureGroups(p)
				if groups == 0 || isCaptureGroup(alt) && captureGroups(p[:before])+1 == groups {
					return 0, prefixUnknown
				}
			}
			return len(lit), prefixFound
		}
		if altMayMatch(alt, d) {
			return 0, prefixUnknown
		}
	}
	return 0, prefixNone
}

// captureGroups counts the capture groups opened in p: "(" outside classes,
// not escaped and not followed by "?" (or followed by "?P<" or "?<", named
// groups, which capture too).
func captureGroups(p string) int {
	n := 0
	for i := 0; i < len(p); i++ {
		switch p[i] {
		case '\\':
			i++
		case '[':
			i = closingBracket(p, i)
		case '(':
			if isCaptureGroup(p[i:]) {
				n++
			}
		}
	}
	return n
}

// isCaptureGroup reports whether s begins with a capture group's "(".
func isCaptureGroup(s string) bool {
	if !strings.HasPrefix(s, "(") {
		return false
	}
	return !strings.HasPrefix(s, "(?") || strings.HasPrefix(s, "(?P<") || strings.HasPrefix(s, "(?<")
}

// literalDigits returns the digits of an alternative that is nothing but
// digits, possibly inside one group: "0", "06", "(1001)", "(?:8)".
func literalDigits(alt string) (string, bool) {
	if strings.HasPrefix(alt, "(?:") && strings.HasSuffix(alt, ")") {
		alt = alt[3 : len(alt)-1]
	} else if strings.HasPrefix(alt, "(") && strings.HasSuffix(alt, ")") {
		alt = alt[1 : len(alt)-1]
	}
	if alt == "" {
		return "", false
	}
	for i := 0; i < len(alt); i++ {
		if alt[i] < '0' || alt[i] > '9' {
			return "", false
		}
	}
	return alt, true
}

// mayMatch reports whether the regular expression p might match at the
// start of the digits d. It is false only when p certainly cannot: every
// alternative of p begins with digits, digit classes ("[2-9]", "\d") or
// groups whose alternatives do, that d does not begin with. Parse looks for
// the international prefix at the start of the digits (a match elsewhere is
// ignored), so a false here means Parse finds none; and a pattern that
// cannot match at the start cannot match the whole either.
func mayMatch(p, d string) bool {
	if strings.Contains(p, "[:") {
		return true
	}
	for rest, more := p, true; more; {
		var alt string
		alt, rest, more = cutAlternative(rest)
		if altMayMatch(alt, d) {
			return true
		}
	}
	return false
}

// altMayMatch is mayMatch for one alternative (no "|" outside groups). It
// walks the alternative's items against d: a digit, a digit class ("\\d",
// "[2-9]") or either repeated an exact number of times ("\\d{6}"), each
// matching digits of d; a group without alternatives, whose items it walks
// in turn; "$" at the end, which needs d to end there (the NANPA islands'
// "([2457]\\d{6})$" only matches a seven-digit number). At a group with
// alternatives it answers for them (what follows the group can only make a
// match harder); at anything else (another quantifier, escape or anchor, a
// class it cannot read) it gives up and says true.
func altMayMatch(alt, d string) bool {
	j := 0
	for i := 0; i < len(alt); {
		switch alt[i] {
		case '(':
			closing := closingParen(alt, i)
			if closing < 0 || closing+1 < len(alt) && isQuantifier(alt[closing+1]) {
				return true
			}
			start := i + 1
			if strings.HasPrefix(alt[start:], "?:") {
				start += 2
			} else if strings.HasPrefix(alt[start:], "?") {
				return true // flags or a named group
			}
			if _, _, more := cutAlternative(alt[start:closing]); more {
				return mayMatch(alt[start:closing], d[j:])
			}
			i = start // no alternatives: the group's items are alt's own
			continue
		case ')':
			i++ // the end of a group entered above
			continue
		case '$':
			if strings.Trim(alt[i+1:], ")") != "" {
				return true
			}
			return j == len(d)
		}
		end := digitItemEnd(alt, i)
		if end < 0 {
			return true
		}
		times, next := 1, end
		if end < len(alt) && isQuantifier(alt[end]) {
			var ok bool
			if times, next, ok = exactCount(alt, end); !ok || next < len(alt) && isQuantifier(alt[next]) {
				return true
			}
		}
		for range times {
			if j == len(d) || !digitItemMatches(alt[i:end], d[j]) {
				return false
			}
			j++
		}
		i = next
	}
	return true // the whole alternative matched d's first j digits
}

// exactCount reads an exact repetition "{n}" at p[i]; it says false for any
// other quantifier.
func exactCount(p string, i int) (n, end int, ok bool) {
	if p[i] != '{' {
		return 0, 0, false
	}
	j := i + 1
	for j < len(p) && isDigit(p[j]) {
		j++
	}
	if j == i+1 || j == len(p) || p[j] != '}' {
		return 0, 0, false
	}
	n, err := strconv.Atoi(p[i+1 : j])
	if err != nil {
		return 0, 0, false
	}
	return n, j + 1, true
}

// digitItemEnd returns the end of the item at p[i] if it matches exactly
// one digit: a digit, "\d", or a class of digits, digit ranges and "\d",
// possibly negated. It returns -1 for anything else.
func digitItemEnd(p string, i int) int {
	switch c := p[i]; {
	case isDigit(c):
		return i + 1
	case c == '\\':
		if i+1 < len(p) && p[i+1] == 'd' {
			return i + 2
		}
	case c == '[':
		end := closingBracket(p, i)
		if end >= len(p) {
			return -1
		}
		class := strings.TrimPrefix(p[i+1:end], "^")
		for k := 0; k < len(class); k++ {
			switch {
			case class[k] == '\\' && k+1 < len(class) && class[k+1] == 'd':
				k++
			case k+2 < len(class) && class[k+1] == '-' && isDigit(class[k]) && isDigit(class[k+2]):
				k += 2
			case isDigit(class[k]):
			default:
				return -1
			}
		}
		return end + 1
	}
	return -1
}

// digitItemMatches reports whether the item (one digitItemEnd accepted)
// matches the digit b.
func digitItemMatches(item string, b byte) bool {
	switch item[0] {
	case '\\':
		return isDigit(b)
	case '[':
	default:
		return item[0] == b
	}
	class := item[1 : len(item)-1]
	negate := strings.HasPrefix(class, "^")
	if negate {
		class = class[1:]
	}
	in := false
	for k := 0; k < len(class); k++ {
		switch {
		case class[k] == '\\':
			in = in || isDigit(b)
			k++
		case k+2 < len(class) && class[k+1] == '-':
			in = in || class[k] <= b && b <= class[k+2]
			k += 2
		default:
			in = in || b == class[k]
		}
	}
	return in != negate
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isQuantifier(c byte) bool { return c == '?' || c == '*' || c == '+' || c == '{' }

// cutAlternative splits p at its first "|" outside groups and classes.
func cutAlternative(p string) (alt, rest string, more bool) {
	depth := 0
	for i := 0; i < len(p); i++ {
		switch p[i] {
		case '\\':
			i++
		case '[':
			i = closingBracket(p, i)
		case '(':
			depth++
		case ')':
			depth--
		case '|':
			if depth == 0 {
				return p[:i], p[i+1:], true
			}
		}
	}
	return p, "", false
}

// closingBracket returns the index of the "]" that closes the class opened
// at p[i] (a "]" first in the class is literal), or len(p).
func closingBracket(p string, i int) int {
	j := i + 1
	if j < len(p) && p[j] == '^' {
		j++
	}
	if j < len(p) && p[j] == ']' {
		j++
	}
	for ; j < len(p) && p[j] != ']'; j++ {
		if p[j] == '\\' {
			j++
		}
	}
	return j
}

// closingParen returns the index of the ")" that closes the group opened at
// p[i], or -1.
func closingParen(p string, i int) int {
	depth := 0
	for j := i; j < len(p); j++ {
		switch p[j] {
		case '\\':
			j++
		case '[':
			j = closingBracket(p, j)
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return j
			}
		}
	}
	return -1
}
