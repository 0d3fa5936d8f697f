// Package normalize turns one mapped input record into the exact PATCH body
// the API will receive, with its warnings, or into a row error, before
// anything is sent.
//
// It exists so that juicebatch never spends a request of its scarce quota
// (10 a minute, 1000 a day) on an update the server would reject, and never
// refuses one the server would take: only the update endpoint's own rules
// make a row invalid (id, email, E.164 phone, an incomplete address,
// nothing to update, invalid UTF-8). What juicebatch merely suspects (the
// creation endpoint's name rule, control characters, an unknown country, a
// phone of another country than the address) is a [Warning]: the row is
// sent with the value as given and the warning goes to the report.
// Refusing an update the server would take loses the user's change for
// good; sending one it might refuse costs one request and is reported.
// [Options.StrictValues] (--strict-values) turns every warning into a
// refusal with the same text. Values are normalized (trimmed, phone
// numbers to E.164, countries to alpha-2, email domains lower-cased) but
// never silently repaired.
//
// # Basics
//
// Build one [Normalizer] with [New] and call [Normalizer.Update] for each
// [input.Record]. The result is an [Update] whose [Body] marshals (with
// [Body.MarshalJSON]) to the request body, or an [*input.RowError] naming the
// file, line, row and canonical field. [Merge] combines the bodies of several
// rows for the same id; [Body.Digests] hashes each sent field for change
// detection.
//
// A Normalizer is immutable after New and safe for concurrent use by any
// number of goroutines. Its zero value is not usable: it knows no countries.
// Body, Address and Update are plain values; treat a Body's strings as
// immutable (Merge shares them between bodies).
//
// # Rules
//
// Every value:
//   - A record whose Err is set is returned unchanged as the error.
//   - Set text must be valid UTF-8 (checked before anything else; never
//     repaired), then surrounding Unicode white space is trimmed
//     ([strings.TrimSpace]).
//   - A Set value that is empty after trimming (all white space) is blank. A blank
//     value means what an empty value means in the input it came from:
//     Absent (no change) by default, which is the CSV rule; Clear when
//     [Options.BlankClears] is set (NDJSON, where "" clears, and CSV with
//     --empty-clears). Blank never means "invalid", and a blank id is
//     missing.
//   - A control character left after trimming (a C0 control, U+0000 to
//     U+001F, tab and line breaks included; DEL; a C1 control, U+0080 to
//     U+009F) is a warning naming the first one found: a tab inside a cell
//     is usually a paste accident, but a line break in a street line is
//     real, and the update endpoint forbids neither. The value is sent as
//     it is (encoding/json escapes it: a line break stays a line break).
//   - So is a byte-order mark (U+FEFF) anywhere, at its ends included (it
//     is not white space, so trimming keeps it): an invisible encoding
//     mark, found inside a value when two exports are joined into one file
//     or when a tool writes one per cell. In an id, both break the id's
//     own rule instead.
//
// Fields:
//   - id: required (Absent, Clear or blank is "missing"); must match
//     ^[A-Za-z0-9_-]{1,64}$, a safe path segment (no "/", ".", "%", "?",
//     "#", space or non-ASCII). The reason names the first bad character,
//     or the length when it is longer than 64 characters.
//   - first_name, last_name: any text. The provider's rule for names (at
//     most 100 characters; only letters, combining marks, the space U+0020,
//     the hyphen-minus "-" and the apostrophes "'" and U+2019) is the
//     creation endpoint's; real names break it ("Smith, Jr.", Robert
//     "Bob"), so a digit, any other character, or more than 100 runes each
//     give a warning. Clear sends "".
//   - email: must parse with net/mail.ParseAddress to exactly itself: a bare
//     address, no display name, comment, angle brackets or quoted local
//     part. The domain must be a plausible host name: at least two labels
//     separated by dots, each 1 to 63 bytes of letters, digits and inner
//     hyphens (Unicode letters are accepted, so IDN domains pass as
//     written; they are not converted to punycode), a top-level label that
//     is not all digits, at most 253 bytes. The local part is at most 64
//     bytes and the address at most 254. The domain is lower-cased; the
//     local part is kept exactly as written.
//   - phone_number: normalized to E.164 with github.com/nyaruka/phonenumbers
//     (a port of libphonenumber), which decides every reading: Parse in
//     the region of the row's billing_address.country, else
//     [Options.PhoneRegion]; IsValidNumber; Format(E164). The region's
//     metadata knows its international prefix ("009…" in NG, "0011…" in
//     AU, "00…" in GB, "011…" in the US) and its national prefix; no rule
//     of ours overrides them. A number in "+" form carries its own calling
//     code and needs no region; any other number without a region is
//     invalid ("national number needs a country", or for "00…"
//     "international prefix needs a country": "00" is not every region's
//     prefix). A valid number is sent in the library's E.164 form; when it
//     was written in "+" form with other digits (a trunk or carrier prefix
//     after the calling code: "+44 (0)20…", "+375 8…") with a warning. A
//     number written in international form ("+", or the region's own
//     prefix) that is not valid, but of a length its calling code allows,
//     is in E.164 form, all the update endpoint requires: it is sent with
//     the warning "not a valid number for any region". An invalid national
//     number is refused: its E.164 form would be a guess. More than 15
//     digits is refused even when valid. A "00…" number read in a region
//     whose prefix is another is also read as "00" = "+": both valid and
//     different, the library's reading is sent with a warning naming both;
//     only the "00" reading valid, the row is refused with a reason that
//     shows it. An extension ("ext. 12", "x12", "#12", ";ext=12") is
//     dropped with a warning (E.164 cannot carry one); a tel: URI is read
//     as its number; letters are refused (vanity numbers such as
//     1-800-FLOWERS are not converted). A number of another country than
//     the billing address is sent with a warning (see below). Clear sends
//     "". Two fast paths skip Parse where the metadata decides the rest
//     without a regular expression: a number already in E.164 form ("+"
//     and digits, the common case in warehouse exports; e164Fast) and a
//     national number of digits and separators ("0803 123 4567"; the
//     replay of Parse in nationalE164). Each answers only for valid
//     numbers, and then exactly as the full path; anything else takes the
//     full path, so answers, warnings and reasons are the same either way.
//     TestPhoneDifferential checks both against the library over every
//     region's example numbers in many written forms and their typos.
//     A number of another country than the billing address is sent with a
//     warning (the creation endpoint's rule; the update endpoint documents
//     only E.164, and a customer with a UK address and a Nigerian mobile is
//     real). Countries are compared by calling code, so regions that share
//     one (US and CA under +1) are not told apart. A national number in a
//     row whose billing_address.country is not one juicebatch knows is
//     invalid: --phone-region is not used for it, since the row says the
//     customer is elsewhere.
//   - billing_address.country: ISO 3166-1 alpha-2 in any case ("ng"),
//     alpha-3 in any case ("NGA", "gbr"), or an English name, matched
//     ignoring case, accents, punctuation, "&" versus "and", "St." versus
//     "Saint" and a leading "The". Names come from CLDR through
//     golang.org/x/text/language/display, plus a short explicit alias list
//     (UK, Great Britain, Britain, England, Scotland, Wales and Northern
//     Ireland are GB; United States of America is US; UAE, DRC, Ivory Coast,
//     Czech Republic, Holland, Turkiye, Eswatini, North Macedonia, Cabo
//     Verde, East Timor, Holy See, Palestine, Hong Kong, Macao, Russian
//     Federation, Viet Nam, Republic of Korea and a few others). The 249
//     officially assigned ISO 3166-1 codes are accepted, and so are Kosovo
//     XK, Ascension AC and Tristan da Cunha TA, which are not assigned but
//     have people, addresses and phone numbering plans of their own; CLDR's
//     other extra regions (Diego Garcia DG, Clipperton CP, EU, UN) and
//     withdrawn codes are not. The value sent
//     is the upper-case alpha-2 code. An unknown value is sent as written
//     with a warning (the update endpoint states no rule for it; a server
//     that wants alpha-2 will say so), with a "did you mean" when a known
//     name is within a small edit distance (typos and swapped letters:
//     "Nigerai" suggests Nigeria). Names that mean two countries ("Congo",
//     "Korea", "Virgin Islands") are warned about the same way, listing
//     both codes.
//   - billing_address is replaced whole, as the API requires. If the row
//     sets or clears any address field, Body.Address is sent with all six
//     keys; a key with no value in the row is sent as "" (which clears it)
//     and its canonical name is listed in [Update.ImpliedClears] so that
//     plan can show it. line1, city and country must then be non-empty;
//     otherwise the row is invalid ("billing_address: line1, city and
//     country are required when the address is updated; missing: city").
//     line2, state and zip_code get only the checks every value gets.
//   - A row with nothing to send besides its id is invalid ("no fields to
//     update").
//
// Only the first problem of a row is reported; a row with a problem has no
// warnings. The checks every value gets (UTF-8, control characters) run
// first, over the fields in canonical order; then id, first_name,
// last_name, email, billing_address.country, phone_number (after the
// country it may depend on), the address as a whole, and finally "no
// fields to update". Warnings are collected in that same order, all of
// them; under StrictValues the first one becomes the row's error
// (Field = the warning's field, Reason = its problem and detail), after
// every refusal had its chance.
//
// # Warnings
//
// [Update.Warnings] lists a sent row's warnings. A [Warning]'s Problem is
// the kind of problem without the row's value (the report groups rows by
// Field and Problem), its Detail quotes the value. [JoinWarnings] gives
// the text results.csv shows, one warning a line; [ParseWarnings] reads it
// back.
//
// # Errors
//
// [New] returns an error wrapping [ErrUnknownRegion] when
// Options.PhoneRegion is neither a known country nor one the phone library
// has a numbering plan for. [Normalizer.Update] returns an [*input.RowError]:
// File from [Options.File], Line and Row from the record, Field the
// canonical field name ("billing_address.country", "billing_address" for
// whole-address problems, "" for "no fields to update"), and a lower-case
// Reason without trailing punctuation that quotes the offending value (cut
// to 60 characters) at its end, after ": ", so that the report can group
// rows by the reason without the value.
//
// # Canonical form and digests
//
// [Body.MarshalJSON] is the request body and the canonical form of an
// update: keys in the fixed order first_name, last_name, email,
// phone_number, billing_address (line1, line2, city, state, zip_code,
// country); absent fields left out; "" for a clear; no insignificant white
// space; strings escaped exactly as encoding/json does with HTML escaping
// off (so "<", ">" and "&" are sent as they are). Send the bytes
// MarshalJSON returns: passing a Body to json.Marshal re-escapes "<>&" as
// \u003c and so on, because encoding/json HTML-escapes the output of
// Marshalers unless the Encoder's SetEscapeHTML(false) is used.
//
// [Body.Digests] gives, for each sent field in that order, SHA-256 over the
// bytes of that field's JSON value exactly as it appears in MarshalJSON's
// output: for a string field the quoted, escaped string (sha256(`"Ada"`),
// sha256(`""`) for a clear), for billing_address the whole object
// (sha256(`{"line1":"1 A St","line2":"","city":"Lagos","state":"","zip_code":"","country":"NG"}`)).
// A field's digest depends on nothing but its own value.
//
// # Caveats
//
// Validation mirrors the documented and published rules; it cannot know
// server-side rules that are not published (email uniqueness, whether the
// server also checks a phone against an address stored earlier).
package normalize
