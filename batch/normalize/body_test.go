package normalize

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func fullBody() Body {
	return Body{
		FirstName: str("Ada"),
		LastName:  str("Lovelace"),
		Email:     str("ada@example.com"),
		Phone:     str("+2348031234567"),
		Address: &Address{Line1: "1 Marina Rd", Line2: "", City: "Lagos",
			State: "LA", ZipCode: "101241", Country: "NG"},
	}
}

func TestMarshalJSON(t *testing.T) {
	tests := []struct {
		name string
		in   Body
		want string
	}{
		{"empty", Body{}, `{}`},
		{"one field", Body{FirstName: str("Ada")}, `{"first_name":"Ada"}`},
		{"fixed order whatever is set", Body{Phone: str("+14155552671"), LastName: str("L")},
			`{"last_name":"L","phone_number":"+14155552671"}`},
		{"every field", fullBody(),
			`{"first_name":"Ada","last_name":"Lovelace","email":"ada@example.com","phone_number":"+2348031234567",` +
				`"billing_address":{"line1":"1 Marina Rd","line2":"","city":"Lagos","state":"LA","zip_code":"101241","country":"NG"}}`},
		{"clears are empty strings", Body{FirstName: str(""), Phone: str("")}, `{"first_name":"","phone_number":""}`},
		{"empty address sends all six keys", Body{Address: &Address{}},
			`{"billing_address":{"line1":"","line2":"","city":"","state":"","zip_code":"","country":""}}`},
		{"html characters are not escaped", Body{FirstName: str("<b>&</b>")}, `{"first_name":"<b>&</b>"}`},
		{"quotes and backslashes", Body{LastName: str(`O"Neil\`)}, `{"last_name":"O\"Neil\\"}`},
		{"unicode as is", Body{FirstName: str("Zoë 张伟 O’Neil")}, `{"first_name":"Zoë 张伟 O’Neil"}`},
		{"controls escaped like encoding/json", Body{FirstName: str("a\nb\tc\x01\u2028")}, `{"first_name":"a\nb\tc\u0001\u2028"}`},
		{"invalid UTF-8 replaced like encoding/json", Body{FirstName: str("a\xffb")}, `{"first_name":"a\ufffdb"}`},
		{"address escaping", Body{Address: &Address{Line1: `5 "A" & <B>`, Country: "GB"}},
			`{"billing_address":{"line1":"5 \"A\" & <B>","line2":"","city":"","state":"","zip_code":"","country":"GB"}}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := marshal(t, tc.in)
			if got != tc.want {
				t.Errorf("MarshalJSON() = %s; want %s", got, tc.want)
			}
			if !json.Valid([]byte(got)) {
				t.Errorf("MarshalJSON() = %s; not valid JSON", got)
			}
			if again := marshal(t, tc.in); again != got {
				t.Errorf("MarshalJSON() second call = %s; want %s (deterministic)", again, got)
			}
		})
	}
}

// TestMarshalJSONThroughEncoder shows how to embed a Body in a larger JSON
// value without changing its bytes: an Encoder with HTML escaping off.
func TestMarshalJSONThroughEncoder(t *testing.T) {
	b := Body{FirstName: str("<b>&")}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(b); err != nil {
		t.Fatal(err)
	}
	if got, want := buf.String(), "{\"first_name\":\"<b>&\"}\n"; got != want {
		t.Errorf("Encoder(SetEscapeHTML(false)).Encode(body) = %q; want %q", got, want)
	}
}

// TestMarshalJSONViaJSONMarshal pins the caveat in the package
// documentation: json.Marshal HTML-escapes a Marshaler's output.
func TestMarshalJSONViaJSONMarshal(t *testing.T) {
	got, err := json.Marshal(Body{FirstName: str("<b>&")})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"first_name":"\u003cb\u003e\u0026"}`; string(got) != want {
		t.Errorf("json.Marshal(body) = %s; want %s", got, want)
	}
}

func TestIsEmpty(t *testing.T) {
	tests := []struct {
		name string
		in   Body
		want bool
	}{
		{"zero", Body{}, true},
		{"clear counts", Body{Email: str("")}, false},
		{"address only", Body{Address: &Address{}}, false},
		{"full", fullBody(), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.in.IsEmpty(); got != tc.want {
				t.Errorf("IsEmpty() = %v; want %v", got, tc.want)
			}
		})
	}
}

func TestMerge(t *testing.T) {
	addrA := &Address{Line1: "1 A St", Line2: "Flat 1", City: "Lagos", State: "LA", ZipCode: "1", Country: "NG"}
	addrB := &Address{Line1: "2 B Rd", City: "London", Country: "GB"}
	tests := []struct {
		name         string
		older, newer Body
		want         string
	}{
		{"both empty", Body{}, Body{}, `{}`},
		{"disjoint fields combine", Body{FirstName: str("Ada")}, Body{LastName: str("L")},
			`{"first_name":"Ada","last_name":"L"}`},
		{"newer value wins", Body{FirstName: str("Ada"), Email: str("a@x.co")}, Body{FirstName: str("Grace")},
			`{"first_name":"Grace","email":"a@x.co"}`},
		{"newer clear wins", Body{Phone: str("+14155552671")}, Body{Phone: str("")},
			`{"phone_number":""}`},
		{"older kept when newer absent", Body{Phone: str("+14155552671")}, Body{},
			`{"phone_number":"+14155552671"}`},
		{"older address kept when newer sets none", Body{Address: addrA}, Body{Email: str("b@y.co")},
			`{"email":"b@y.co","billing_address":{"line1":"1 A St","line2":"Flat 1","city":"Lagos","state":"LA","zip_code":"1","country":"NG"}}`},
		{"address taken whole, never key by key", Body{Address: addrA}, Body{Address: addrB},
			`{"billing_address":{"line1":"2 B Rd","line2":"","city":"London","state":"","zip_code":"","country":"GB"}}`},
		{"newer address over none", Body{FirstName: str("Ada")}, Body{Address: addrB},
			`{"first_name":"Ada","billing_address":{"line1":"2 B Rd","line2":"","city":"London","state":"","zip_code":"","country":"GB"}}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := marshal(t, Merge(tc.older, tc.newer)); got != tc.want {
				t.Errorf("Merge(%s, %s) = %s; want %s", marshal(t, tc.older), marshal(t, tc.newer), got, tc.want)
			}
		})
	}
}

func TestMergeCopiesAddress(t *testing.T) {
	older := Body{Address: &Address{Line1: "1 A St", City: "Lagos", Country: "NG"}}
	newer := Body{Address: &Address{Line1: "2 B Rd", City: "London", Country: "GB"}}
	for _, m := range []Body{Merge(older, newer), Merge(older, Body{})} {
		m.Address.Line1 = "changed"
	}
	if older.Address.Line1 != "1 A St" || newer.Address.Line1 != "2 B Rd" {
		t.Errorf("changing Merge's result changed its inputs: older %q, newer %q", older.Address.Line1, newer.Address.Line1)
	}
}

func sum(s string) [32]byte { return sha256.Sum256([]byte(s)) }

func TestDigests(t *testing.T) {
	tests := []struct {
		name string
		in   Body
		want []FieldDigest
	}{
		{"empty", Body{}, nil},
		{"one field", Body{FirstName: str("Ada")}, []FieldDigest{{"first_name", sum(`"Ada"`)}}},
		{"clear", Body{Email: str("")}, []FieldDigest{{"email", sum(`""`)}}},
		{"escaped value", Body{LastName: str(`<"O'Neil">`)}, []FieldDigest{{"last_name", sum(`"<\"O'Neil\">"`)}}},
		{"every field in order", fullBody(), []FieldDigest{
			{"first_name", sum(`"Ada"`)},
			{"last_name", sum(`"Lovelace"`)},
			{"email", sum(`"ada@example.com"`)},
			{"phone_number", sum(`"+2348031234567"`)},
			{"billing_address", sum(`{"line1":"1 Marina Rd","line2":"","city":"Lagos","state":"LA","zip_code":"101241","country":"NG"}`)},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, tc.in.Digests()); diff != "" {
				t.Errorf("Digests() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDigestsProperties(t *testing.T) {
	digestOf := func(b Body, name string) [32]byte {
		t.Helper()
		for _, d := range b.Digests() {
			if d.Name == name {
				return d.Sum
			}
		}
		t.Fatalf("Digests() of %s has no %s", marshal(t, b), name)
		return [32]byte{}
	}
	a := fullBody()
	if !cmp.Equal(a.Digests(), fullBody().Digests()) {
		t.Error("Digests() differ for equal bodies")
	}

	// A different value gives a different digest.
	b := fullBody()
	b.Phone = str("+2348031234568")
	if digestOf(a, "phone_number") == digestOf(b, "phone_number") {
		t.Error("Digests() phone_number is the same for different numbers")
	}
	c := fullBody()
	c.Address.ZipCode = "101242"
	if digestOf(a, "billing_address") == digestOf(c, "billing_address") {
		t.Error("Digests() billing_address is the same for different zip codes")
	}

	// A clear differs from absent (no digest) and from any value.
	d := Body{FirstName: str("")}
	if digestOf(d, "first_name") == digestOf(a, "first_name") {
		t.Error("Digests() first_name of a clear equals that of a value")
	}

	// A field's digest does not depend on the other fields.
	alone := Body{FirstName: str("Ada")}
	if digestOf(alone, "first_name") != digestOf(a, "first_name") {
		t.Error("Digests() first_name depends on the other fields")
	}
	onlyAddr := Body{Address: fullBody().Address}
	if digestOf(onlyAddr, "billing_address") != digestOf(a, "billing_address") {
		t.Error("Digests() billing_address depends on the other fields")
	}

	// Each digest is of the exact bytes MarshalJSON sends for that field.
	body := marshal(t, a)
	for _, d := range a.Digests() {
		found := false
		for _, part := range splitTopLevel(t, body) {
			key, value, _ := strings.Cut(part, ":")
			if key == `"`+d.Name+`"` && sum(value) == d.Sum {
				found = true
			}
		}
		if !found {
			t.Errorf("Digests() %s is not the SHA-256 of its value in %s", d.Name, body)
		}
	}
}

// splitTopLevel splits a flat-or-nested JSON object's top-level members by
// decoding them as raw messages, re-marshaled compactly in key order.
func splitTopLevel(t *testing.T, obj string) []string {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(obj))
	if _, err := dec.Token(); err != nil { // {
		t.Fatal(err)
	}
	var parts []string
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			t.Fatal(err)
		}
		parts = append(parts, `"`+k.(string)+`":`+string(raw))
	}
	return parts
}
