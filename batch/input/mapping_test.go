package input

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "map.json")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadMapping(t *testing.T) {
	tests := []struct {
		name    string
		content string
		want    map[string]Field // column → field, checked through resolve
		errMsg  []string         // parts of the error; nil: no error
	}{
		{name: "entries", content: `{"Record ID": "id", "Street Address": " Billing_Address.Line1 ", "Owner": "-"}`,
			want: map[string]Field{"record id": ID, " RECORD ID ": ID, "street address": Line1, "owner": skip, "email": Email}},
		{name: "an entry can remap a canonical name", content: `{"email": "phone_number"}`,
			want: map[string]Field{"Email": Phone, "phone_number": Phone}},
		{name: "empty object", content: `{}`, want: map[string]Field{"id": ID}},
		{name: "unknown target", content: `{"Zip": "zipcode"}`,
			errMsg: []string{`map.json: entry "Zip": unknown field "zipcode"; did you mean billing_address.zip_code? valid fields: id, first_name, last_name, email, phone_number, billing_address.line1`}},
		{name: "unknown target, nothing close", content: `{"Zip": "postcode"}`, errMsg: []string{`entry "Zip": unknown field "postcode"; valid fields: id,`}},
		{name: "target not a string", content: `{"Zip": 5}`, errMsg: []string{`entry "Zip": the target must be a field name in quotes`}},
		{name: "empty target", content: `{"Zip": ""}`, errMsg: []string{`entry "Zip": empty field name (use "-" to ignore the column)`}},
		{name: "empty column", content: `{" ": "id"}`, errMsg: []string{`entry " ": empty column name`}},
		{name: "column twice", content: `{"Email": "email", " email": "id"}`, errMsg: []string{`entry " email": column listed twice (also as "Email")`}},
		{name: "not an object", content: `["id"]`, errMsg: []string{`want a JSON object of "column": "field" entries`}},
		{name: "not JSON", content: `{"a": "id",`, errMsg: []string{"map.json"}},
		{name: "data after the object", content: `{"a": "id"} {}`, errMsg: []string{"unexpected data after the object"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, tt.content)
			m, err := LoadMapping(path)
			if tt.errMsg != nil {
				if err == nil {
					t.Fatalf("LoadMapping(%s) = nil error; want %q", tt.content, tt.errMsg)
				}
				for _, part := range append(tt.errMsg, path) {
					if !strings.Contains(err.Error(), part) {
						t.Errorf("LoadMapping(%s) = %q; want it to contain %q", tt.content, err, part)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("LoadMapping(%s) = %v", tt.content, err)
			}
			for col, want := range tt.want {
				if got, ok := m.resolve(col); !ok || got != want {
					t.Errorf("resolve(%q) = %v, %v; want %v", col, got, ok, want)
				}
			}
		})
	}
	if _, err := LoadMapping(filepath.Join(t.TempDir(), "missing.json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("LoadMapping(missing) = %v; want os.ErrNotExist", err)
	}
}

func TestAddColumn(t *testing.T) {
	tests := []struct {
		spec   string
		col    string
		want   Field
		errMsg string
	}{
		{spec: "Record ID=id", col: "record id", want: ID},
		{spec: "a=b=email", col: "A=B", want: Email},
		{spec: " Zip = billing_address.zip_code", col: "zip", want: ZipCode},
		{spec: "Notes=-", col: "notes", want: skip},
		{spec: "Record ID", errMsg: `--column "Record ID": want COLUMN=FIELD`},
		{spec: "=id", errMsg: `--column "=id": empty column name`},
		{spec: "Mail=emial", errMsg: `--column "Mail=emial": unknown field "emial"; did you mean email?`},
	}
	for _, tt := range tests {
		var m Mapping
		err := m.AddColumn(tt.spec)
		if tt.errMsg != "" {
			if err == nil || !strings.Contains(err.Error(), tt.errMsg) {
				t.Errorf("AddColumn(%q) = %v; want an error containing %q", tt.spec, err, tt.errMsg)
			}
			continue
		}
		if err != nil {
			t.Errorf("AddColumn(%q) = %v", tt.spec, err)
			continue
		}
		if got, ok := m.resolve(tt.col); !ok || got != tt.want {
			t.Errorf("after AddColumn(%q): resolve(%q) = %v, %v; want %v", tt.spec, tt.col, got, ok, tt.want)
		}
	}
	// A later entry for the same column wins: --column overrides --map.
	m := mustMapping(t, "X=email", " x =phone_number")
	if got, _ := m.resolve("x"); got != Phone {
		t.Errorf("resolve(x) after two entries = %v; want phone_number", got)
	}
}

func TestDigest(t *testing.T) {
	var zero Mapping
	a := mustMapping(t, "Record ID=id", "Street=billing_address.line1")
	b := mustMapping(t, "street = billing_address.line1", "RECORD ID=ID")
	c := mustMapping(t, "Record ID=id", "Street=billing_address.line2")
	d := mustMapping(t, "Record ID=id", "Street=-")
	if a.Digest() != b.Digest() {
		t.Errorf("Digest differs for the same entries in another order and case: %s, %s", a.Digest(), b.Digest())
	}
	seen := map[string]string{}
	for name, m := range map[string]Mapping{"zero": zero, "a": a, "c": c, "d": d} {
		dg := m.Digest()
		if len(dg) != 64 {
			t.Errorf("%s.Digest() = %q; want 64 hex digits", name, dg)
		}
		if other, dup := seen[dg]; dup {
			t.Errorf("%s.Digest() = %s.Digest() = %s; want them to differ", name, other, dg)
		}
		seen[dg] = name
	}
	if zero.Digest() != (Mapping{}).Digest() {
		t.Errorf("zero Mapping digest is not stable")
	}
}

func TestSuggest(t *testing.T) {
	tests := []struct {
		name string
		want Field
		ok   bool
	}{
		{"e-mail", Email, true},
		{"E-Mail Address", 0, false},
		{"emial", Email, true},
		{"phone_numer", Phone, true},
		{"Phone Number", Phone, true},
		{"Zip Code", ZipCode, true},
		{"zipcode", ZipCode, true},
		{"billing address line 1", Line1, true},
		{"Line 1", Line1, true},
		{"Cty", City, true},
		{"firstname", FirstName, true},
		{"I.D.", ID, true},
		{"IP", 0, false},
		{"Status", 0, false},
		{"Owner", 0, false},
		{"Phone", 0, false},
		{"", 0, false},
		{"---", 0, false},
	}
	for _, tt := range tests {
		got, ok := suggest(tt.name, nil)
		if ok != tt.ok || (ok && got != tt.want) {
			t.Errorf("suggest(%q) = %v, %v; want %v, %v", tt.name, got, ok, tt.want, tt.ok)
		}
	}
	taken := [NumFields]bool{Line1: true}
	if got, ok := suggest("line 1", &taken); ok {
		t.Errorf("suggest(line 1) with line1 taken = %v; want nothing", got)
	}
	if got, ok := suggest("Address Line 3", nil); ok {
		t.Errorf("suggest(Address Line 3) = %v; want nothing", got)
	}
}

func TestEditDistance(t *testing.T) {
	tests := []struct {
		a, b  string
		limit int
		want  int
	}{
		{"email", "email", 2, 0},
		{"emial", "email", 2, 1},
		{"phonenumer", "phonenumber", 2, 1},
		{"status", "state", 2, 2},
		{"kitten", "sitting", 3, 3},
		{"a", "abcdef", 2, 3},
		{"", "ab", 2, 2},
		{"zipcöde", "zipcode", 2, 1},
	}
	for _, tt := range tests {
		if got := editDistance(tt.a, tt.b, tt.limit); got != tt.want {
			t.Errorf("editDistance(%q, %q, %d) = %d; want %d", tt.a, tt.b, tt.limit, got, tt.want)
		}
	}
}
