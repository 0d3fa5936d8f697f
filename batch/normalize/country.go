package normalize

import (
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/language"
	"golang.org/x/text/language/display"
	"golang.org/x/text/unicode/norm"
)

// countries resolves what users write in a country column to an ISO 3166-1
// alpha-2 code. It is built once by newCountries and only read afterwards.
type countries struct {
	// byKey maps a lookup key (see countryKey) to an upper-case alpha-2
	// code: lower-case alpha-2 and alpha-3 codes, normalized English names
	// and aliases.
	byKey map[string]string
	// names maps an alpha-2 code to its English name, for messages.
	names map[string]string
	// suggest holds the name keys (not codes), sorted, for "did you mean".
	suggest []string
	// ambiguous maps a key such as "congo" to the codes it could mean.
	ambiguous map[string][]string
}

// notISO are CLDR regions that pass language.Region.IsCountry and have an
// English name and an alpha-3 form but are not officially assigned ISO
// 3166-1 codes (exceptionally reserved or user-assigned) and that have no
// phone numbering plan of their own. Kosovo (XK), Ascension (AC) and
// Tristan da Cunha (TA) are not assigned either, but people live there,
// addresses name them and the phone library reads their numbers, so they
// are accepted.
func notISO() []string { return []string{"CP", "DG"} }

// countryAlias is an extra English name for a country.
type countryAlias struct{ name, code string }

// countryAliases are common English names CLDR's display names miss.
// England, Scotland, Wales and Northern Ireland are accepted as GB: CRM
// exports often hold the constituent country where the sovereign one is
// meant, and the API wants the ISO code, which is GB for all four.
func countryAliases() []countryAlias {
	return []countryAlias{
		{"UK", "GB"}, {"U.K.", "GB"}, {"Great Britain", "GB"}, {"Britain", "GB"},
		{"England", "GB"}, {"Scotland", "GB"}, {"Wales", "GB"}, {"Northern Ireland", "GB"},
		{"United Kingdom of Great Britain and Northern Ireland", "GB"},
		{"United States of America", "US"}, {"U.S.", "US"},
		{"UAE", "AE"},
		{"DRC", "CD"}, {"DR Congo", "CD"}, {"Democratic Republic of the Congo", "CD"},
		{"Congo, Democratic Republic of the", "CD"},
		{"Republic of the Congo", "CG"}, {"Congo Republic", "CG"},
		{"Ivory Coast", "CI"}, {"Cote d Ivoire", "CI"},
		{"Czech Republic", "CZ"},
		{"Holland", "NL"},
		{"Turkiye", "TR"},
		{"Eswatini", "SZ"},
		{"North Macedonia", "MK"},
		{"Cabo Verde", "CV"},
		{"East Timor", "TL"},
		{"Holy See", "VA"}, {"Vatican", "VA"},
		{"Palestine", "PS"},
		{"Hong Kong", "HK"}, {"Macao", "MO"}, {"Macau", "MO"},
		{"Russian Federation", "RU"},
		{"Viet Nam", "VN"},
		{"Republic of Korea", "KR"}, {"Korea, Republic of", "KR"},
		{"Brunei Darussalam", "BN"},
		{"Lao PDR", "LA"},
		{"Federated States of Micronesia", "FM"},
	}
}

// ambiguousNames are names that users write for more than one country; they
// resolve to nothing and the reason lists the candidates.
func ambiguousNames() []countryAlias {
	return []countryAlias{
		{"Congo", "CG"}, {"Congo", "CD"},
		{"Korea", "KR"}, {"Korea", "KP"},
		{"Virgin Islands", "VG"}, {"Virgin Islands", "VI"},
	}
}

// newCountries builds the table from CLDR's region data: every two-letter
// code that x/text knows as a current (canonical) country with an alpha-3
// form and an English name, less notISO, which leaves the 249 officially
// assigned ISO 3166-1 codes, plus XK, AC and TA: 252 in all.
func newCountries() *countries {
	c := &countries{
		byKey:     make(map[string]string, 1200),
		names:     make(map[string]string, 260),
		ambiguous: make(map[string][]string),
	}
	ambiguous := make(map[string]bool)
	add := func(key, code string) {
		if key == "" || ambiguous[key] {
			return
		}
		if old, ok := c.byKey[key]; ok && old != code {
			// Two countries share this name: accept neither.
			delete(c.byKey, key)
			ambiguous[key] = true
			return
		}
		c.byKey[key] = code
	}
	skip := make(map[string]bool)
	for _, code := range notISO() {
		skip[code] = true
	}
	namer := display.English.Regions()
	var nameKeys []string
	for a := 'A'; a <= 'Z'; a++ {
		for b := 'A'; b <= 'Z'; b++ {
			code := string([]rune{a, b})
			r, err := language.ParseRegion(code)
			if err != nil || skip[code] || !r.IsCountry() || r.Canonicalize().String() != code {
				continue
			}
			iso3 := r.ISO3()
			name := namer.Name(r)
			if iso3 == "ZZZ" || name == "" {
				continue
			}
			c.names[code] = name
			add(strings.ToLower(code), code)
			add(strings.ToLower(iso3), code)
			for _, k := range nameVariants(name) {
				add(k, code)
				nameKeys = append(nameKeys, k)
			}
		}
	}
	for _, al := range countryAliases() {
		k := countryKey(al.name)
		add(k, al.code)
		nameKeys = append(nameKeys, k)
	}
	for _, al := range ambiguousNames() {
		k := countryKey(al.name)
		delete(c.byKey, k)
		ambiguous[k] = true
		c.ambiguous[k] = append(c.ambiguous[k], al.code)
	}
	seen := make(map[string]bool)
	for _, k := range nameKeys {
		// Codes are too short to suggest from; ambiguous names resolve
		// to nothing.
		if _, ok := c.byKey[k]; ok && !seen[k] && utf8.RuneCountInString(k) > 3 {
			seen[k] = true
			c.suggest = append(c.suggest, k)
		}
	}
	sort.Strings(c.suggest)
	return c
}

// nameVariants returns the lookup keys for one CLDR English name:
// "Myanmar (Burma)" gives "myanmar burma", "myanmar" and "burma";
// "St. Lucia" gives "st lucia" and "saint lucia"; "Hong Kong SAR China"
// also gives "hong kong".
func nameVariants(name string) []string {
	var raw []string
	raw = append(raw, name)
	if i := strings.IndexByte(name, '('); i >= 0 {
		if j := strings.IndexByte(name[i:], ')'); j >= 0 {
			raw = append(raw, name[:i]+name[i+j+1:], name[i+1:i+j])
		}
	}
	var keys []string
	for _, r := range raw {
		k := countryKey(r)
		keys = append(keys, k)
		if s, ok := strings.CutSuffix(k, " sar china"); ok {
			keys = append(keys, s)
		}
		if s, ok := strings.CutPrefix(k, "st "); ok {
			keys = append(keys, "saint "+s)
		}
	}
	return keys
}

// countryKey folds a country as written to its lookup key: lower case,
// accents removed, "&" as "and", apostrophes and dots dropped, any other run
// of non-letters and non-digits as one space, and a leading "the " removed.
// "Côte d’Ivoire" → "cote divoire", "U.S.A." → "usa", "The Gambia" →
// "gambia", "Bosnia & Herzegovina" → "bosnia and herzegovina".
func countryKey(s string) string {
	if !isASCII(s) {
		s = norm.NFD.String(s)
	}
	var b strings.Builder
	b.Grow(len(s) + 4)
	gap := false
	word := func(w string) {
		if gap && b.Len() > 0 {
			b.WriteByte(' ')
		}
		gap = false
		b.WriteString(w)
	}
	for _, r := range s {
		switch {
		case r == '\'' || r == '\u2019' || r == '.' || unicode.Is(unicode.Mn, r):
			// Dropped without a gap: "d’Ivoire" → "divoire", "U.S." → "us".
		case r == '&':
			gap = true
			word("and")
			gap = true
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			word(string(unicode.ToLower(r)))
		default:
			gap = true
		}
	}
	return strings.TrimPrefix(b.String(), "the ")
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// lookup resolves s (already trimmed) to an alpha-2 code.
func (c *countries) lookup(s string) (string, bool) {
	// Fast path for codes, the common case: fold ASCII letters into a
	// stack buffer; the map index with string(buf) does not allocate.
	if n := len(s); n == 2 || n == 3 {
		var buf [3]byte
		ok := true
		for i := 0; i < n; i++ {
			ch := s[i]
			switch {
			case 'a' <= ch && ch <= 'z':
				buf[i] = ch
			case 'A' <= ch && ch <= 'Z':
				buf[i] = ch + ('a' - 'A')
			default:
				ok = false
			}
		}
		if ok {
			code, found := c.byKey[string(buf[:n])]
			return code, found
		}
	}
	code, ok := c.byKey[countryKey(s)]
	return code, ok
}

// maxSuggestInput bounds the work suggestion does: the longest English
// country name is under 60 bytes.
const maxSuggestInput = 100

// suggestion returns the English name and code of the known country name
// closest to s, if it is close enough to be a likely misspelling.
func (c *countries) suggestion(s string) (name, code string, ok bool) {
	if len(s) > maxSuggestInput {
		return "", "", false // no country name is this long
	}
	k := countryKey(s)
	n := utf8.RuneCountInString(k)
	if n < 3 {
		return "", "", false
	}
	limit := 1
	switch {
	case n > 10:
		limit = 3
	case n > 5:
		limit = 2
	}
	best, bestD := "", limit+1
	for _, cand := range c.suggest {
		if d := editDistance(k, cand, bestD); d < bestD {
			best, bestD = cand, d
		}
	}
	if best == "" {
		return "", "", false
	}
	code = c.byKey[best]
	return c.names[code], code, true
}

// editDistance is the optimal-string-alignment distance between a and b
// in runes (Levenshtein plus adjacent transpositions, so "Nigerai" is one
// edit from "Nigeria"), or any value >= max once it must be at least max.
func editDistance(a, b string, max int) int {
	ra, rb := []rune(a), []rune(b)
	if d := len(ra) - len(rb); d >= max || -d >= max {
		return max
	}
	prev2 := make([]int, len(rb)+1) // row i-2
	prev := make([]int, len(rb)+1)  // row i-1
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		rowMin := cur[0]
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
			rowMin = min(rowMin, cur[j])
		}
		if rowMin >= max {
			return max
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}
