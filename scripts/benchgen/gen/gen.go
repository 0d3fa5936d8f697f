// Package gen makes the deterministic customer-update rows of juicebatch's
// benchmarks: the same seed and options give byte-for-byte the same file, so
// a benchmark result can be reproduced without committing any data.
//
// The rows look like a CRM or warehouse export: a UUID-like id, names (some
// with accents, hyphens and apostrophes), an email, a phone number and, on
// some rows, a full billing address. With [PhonesMostlyE164] 95 % of the
// phones are in E.164 form and 5 % are national numbers on rows whose
// address names their country; with [PhonesNational] every phone is national
// and every row has an address with its country. A few rows are invalid on
// purpose (a broken email, a phone that is too short, an id with a space, a
// name with digits) and a few repeat an earlier row's id, so the pipeline's
// merge and error paths are part of what is measured.
//
// A Generator is for one goroutine; separate Generators are independent. The
// package has no global state. The Write functions return only the writer's
// errors.
package gen

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"strings"
)

// Phones chooses how phone numbers are written.
type Phones int

const (
	// PhonesMostlyE164 writes 95 % of phones in E.164 form ("+2348031234567")
	// and 5 % in national form ("0803 123 4567") on rows with a country.
	PhonesMostlyE164 Phones = iota
	// PhonesNational writes every phone in national form, and gives every
	// row a billing address with its country.
	PhonesNational
)

// Options describe a file. The zero value is 0 rows of mostly-E.164 phones
// with the default mix of invalid and repeated rows and seed 0.
type Options struct {
	Rows   int
	Seed   uint64
	Phones Phones
	// Clean leaves out the invalid and repeated rows: every row is a valid,
	// distinct update (the pacing benchmark wants exactly one request a row).
	Clean bool
}

// Shares of rows, in tenths of a percent (per mille).
const (
	nationalPerMille = 50  // national phones with PhonesMostlyE164
	addressPerMille  = 300 // rows with an address besides the national ones
	invalidPerMille  = 5   // invalid rows
	repeatPerMille   = 5   // rows repeating an earlier row's id
)

// Address is a billing address; every field may be "".
type Address struct {
	Line1   string `json:"line1,omitempty"`
	Line2   string `json:"line2,omitempty"`
	City    string `json:"city,omitempty"`
	State   string `json:"state,omitempty"`
	ZipCode string `json:"zip_code,omitempty"`
	Country string `json:"country,omitempty"`
}

// Row is one generated update. Empty fields are left out of the file (an
// empty CSV cell, an absent NDJSON key).
type Row struct {
	ID             string   `json:"id"`
	FirstName      string   `json:"first_name,omitempty"`
	LastName       string   `json:"last_name,omitempty"`
	Email          string   `json:"email,omitempty"`
	PhoneNumber    string   `json:"phone_number,omitempty"`
	BillingAddress *Address `json:"billing_address,omitempty"`
}

// Header is the CSV header, in canonical field names.
func Header() []string {
	return []string{"id", "first_name", "last_name", "email", "phone_number",
		"billing_address.line1", "billing_address.line2", "billing_address.city",
		"billing_address.state", "billing_address.zip_code", "billing_address.country"}
}

// Fields returns the row's CSV cells, in Header order.
func (r Row) Fields() []string {
	a := r.BillingAddress
	if a == nil {
		a = &Address{}
	}
	return []string{r.ID, r.FirstName, r.LastName, r.Email, r.PhoneNumber,
		a.Line1, a.Line2, a.City, a.State, a.ZipCode, a.Country}
}

// country is what the generator knows of a country: how its name may be
// written, some cities, and how to make a valid mobile number there.
type country struct {
	names    []string // alpha-2 first (the most common spelling), then others
	cities   []string
	code     string // calling code
	prefixes []string
	digits   int  // random digits after the prefix
	trunk    bool // national form starts with 0
}

// tables are the generator's word lists.
type tables struct {
	countries  []country
	firstNames []string
	lastNames  []string
	streets    []string
	domains    []string
}

func newTables() *tables {
	return &tables{
		countries: []country{
			{names: []string{"NG", "Nigeria", "NGA", "ng"}, cities: []string{"Lagos", "Abuja", "Ibadan", "Port Harcourt"}, code: "234", prefixes: []string{"803", "806", "813", "703", "706", "810", "814", "903"}, digits: 7, trunk: true},
			{names: []string{"GB", "United Kingdom", "GBR", "UK"}, cities: []string{"London", "Manchester", "Leeds", "Glasgow"}, code: "44", prefixes: []string{"7400", "7480", "7812", "7722", "7900", "7828"}, digits: 6, trunk: true},
			{names: []string{"KE", "Kenya", "KEN"}, cities: []string{"Nairobi", "Mombasa", "Kisumu"}, code: "254", prefixes: []string{"712", "722", "733", "701"}, digits: 6, trunk: true},
			{names: []string{"ZA", "South Africa", "ZAF"}, cities: []string{"Johannesburg", "Cape Town", "Durban"}, code: "27", prefixes: []string{"82", "83", "72", "71"}, digits: 7, trunk: true},
			{names: []string{"GH", "Ghana", "GHA"}, cities: []string{"Accra", "Kumasi"}, code: "233", prefixes: []string{"24", "54", "20"}, digits: 7, trunk: true},
			{names: []string{"DE", "Germany", "DEU"}, cities: []string{"Berlin", "München", "Köln"}, code: "49", prefixes: []string{"1512", "1520", "1701"}, digits: 7, trunk: true},
			{names: []string{"FR", "France", "FRA"}, cities: []string{"Paris", "Lyon", "Marseille"}, code: "33", prefixes: []string{"61", "62", "66", "67", "76", "77", "78"}, digits: 7, trunk: true},
		},
		firstNames: []string{"Ada", "Chinedu", "Ngozi", "Oluwaseun", "Amaka", "Tunde", "Fatima", "Ibrahim",
			"Olivia", "James", "Amelia", "Harry", "Zoë", "José", "Anne-Marie", "Siobhán", "Wanjiru", "Kwame",
			"Thandiwe", "Jürgen", "Émilie", "Mary Jane", "Aisha", "Emeka", "Grace", "Kofi", "Nomvula", "Otieno"},
		lastNames: []string{"Okafor", "Adeyemi", "Balogun", "Eze", "Smith", "Jones", "O'Brien", "Smith-Jones",
			"Müller", "Dubois", "Mensah", "Kamau", "Naidoo", "Lovelace", "Nwosu", "Ogunleye", "Van der Merwe",
			"D'Angelo", "García", "Achterberg", "Boateng", "Odhiambo", "Dlamini", "Abubakar"},
		streets: []string{"Marina Road", "Allen Avenue", "High Street", "Station Road", "Kenyatta Avenue",
			"Long Street", "Oxford Road", "Ring Road", "Hauptstraße", "Rue de la Paix", "Church Lane", "Admiralty Way"},
		domains: []string{"example.com", "mail.example.org", "example.co.uk", "Example.NG", "corp.example.net", "example.de"},
	}
}

// A Generator makes the rows of one file, in order.
type Generator struct {
	opts Options
	rng  *rand.Rand
	t    *tables
	n    int // rows made so far
}

// New returns a Generator for opts.
func New(opts Options) *Generator {
	return &Generator{opts: opts, rng: rand.New(rand.NewPCG(opts.Seed, 0x6a756963656261)), t: newTables()}
}

// ID is the id of row i (0-based) of a file made with seed: 36 characters
// in UUID form.
func ID(seed uint64, i int) string {
	a, b := mix(seed^uint64(i)*0x9e3779b97f4a7c15), mix(seed+uint64(i)*0xbf58476d1ce4e5b9+1)
	a = a&^(0xf<<12) | 0x4<<12 // version 4
	b = b&^(0x3<<62) | 0x2<<62 // variant
	return fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", a>>32, a>>16&0xffff, a&0xffff, b>>48, b&0xffffffffffff)
}

// mix is splitmix64's finalizer.
func mix(z uint64) uint64 {
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// Done reports whether every row has been made.
func (g *Generator) Done() bool { return g.n >= g.opts.Rows }

// Next makes the next row.
func (g *Generator) Next() Row {
	i := g.n
	g.n++
	r, t := g.rng, g.t
	pm := func(share int) bool { return r.IntN(1000) < share }

	row := Row{ID: ID(g.opts.Seed, i)}
	if !g.opts.Clean && i > 0 && pm(repeatPerMille) {
		row.ID = ID(g.opts.Seed, r.IntN(i))
	}
	first, last := t.firstNames[r.IntN(len(t.firstNames))], t.lastNames[r.IntN(len(t.lastNames))]
	c := &t.countries[r.IntN(len(t.countries))]
	national := g.opts.Phones == PhonesNational || pm(nationalPerMille)
	withAddress := national || pm(addressPerMille)

	// Not every export has every column filled.
	if !pm(50) {
		row.FirstName = first
	}
	if !pm(30) {
		row.LastName = last
	}
	row.Email = email(r, first, last, i, t.domains)
	row.PhoneNumber = phone(r, c, national)
	if withAddress {
		a := &Address{
			Line1:   strconv.Itoa(1+r.IntN(250)) + " " + t.streets[r.IntN(len(t.streets))],
			City:    c.cities[r.IntN(len(c.cities))],
			ZipCode: strconv.Itoa(10000 + r.IntN(89999)),
			Country: c.names[0],
		}
		if pm(150) {
			a.Line2 = "Flat " + strconv.Itoa(1+r.IntN(40))
		}
		if pm(200) {
			a.State = "State " + strconv.Itoa(1+r.IntN(30))
		}
		if pm(250) { // a spelled-out name or alpha-3 code
			a.Country = c.names[1+r.IntN(len(c.names)-1)]
		}
		row.BillingAddress = a
	}
	if !g.opts.Clean && pm(invalidPerMille) {
		switch r.IntN(4) {
		case 0:
			row.Email = strings.Replace(row.Email, "@", "@@", 1)
		case 1:
			row.PhoneNumber = "+" + strconv.Itoa(100+r.IntN(900))
		case 2:
			row.ID = "bad id " + strconv.Itoa(i)
		default:
			row.FirstName = first + strconv.Itoa(r.IntN(10))
		}
	}
	return row
}

// email makes an ASCII address from the names.
func email(r *rand.Rand, first, last string, i int, domains []string) string {
	local := asciiLower(first) + "." + asciiLower(last)
	if r.IntN(2) == 0 {
		local += strconv.Itoa(i % 10000)
	}
	return local + "@" + domains[r.IntN(len(domains))]
}

// asciiLower keeps the ASCII letters of s, lower-cased.
func asciiLower(s string) string {
	var b strings.Builder
	for _, c := range s {
		switch {
		case c >= 'a' && c <= 'z':
			b.WriteRune(c)
		case c >= 'A' && c <= 'Z':
			b.WriteRune(c + 'a' - 'A')
		}
	}
	if b.Len() == 0 {
		return "x"
	}
	return b.String()
}

// phone makes a valid mobile number of c, in E.164 or national form.
func phone(r *rand.Rand, c *country, national bool) string {
	prefix := c.prefixes[r.IntN(len(c.prefixes))]
	digits := make([]byte, c.digits)
	for k := range digits {
		digits[k] = byte('0' + r.IntN(10))
	}
	nsn := prefix + string(digits)
	if !national {
		return "+" + c.code + nsn
	}
	if c.trunk {
		nsn = "0" + nsn
	}
	// Group like people write it: "0803 123 4567".
	if len(nsn) > 7 {
		return nsn[:4] + " " + nsn[4:7] + " " + nsn[7:]
	}
	return nsn
}

// WriteCSV writes a CSV file (header first) to w.
func WriteCSV(w io.Writer, opts Options) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	cw := csv.NewWriter(bw)
	if err := cw.Write(Header()); err != nil {
		return fmt.Errorf("gen: write csv: %w", err)
	}
	for g := New(opts); !g.Done(); {
		if err := cw.Write(g.Next().Fields()); err != nil {
			return fmt.Errorf("gen: write csv: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("gen: write csv: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("gen: write csv: %w", err)
	}
	return nil
}

// WriteNDJSON writes an NDJSON file, one object a line, to w.
func WriteNDJSON(w io.Writer, opts Options) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	for g := New(opts); !g.Done(); {
		if err := enc.Encode(g.Next()); err != nil {
			return fmt.Errorf("gen: write ndjson: %w", err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("gen: write ndjson: %w", err)
	}
	return nil
}
