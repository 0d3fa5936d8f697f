package batch

import "testing"

func TestInvalidReason(t *testing.T) {
	tests := []struct {
		text, field, problem string
	}{
		{`in.csv:5: email: not a valid email address: "bob@"`, "email", "not a valid email address"},
		{`dir/a:b.csv:12: phone_number: not a valid NG phone number (read as national in NG, from --phone-region): "0803 12"`,
			"phone_number", "not a valid NG phone number (read as national in NG, from --phone-region)"},
		{`in.csv:7: no fields to update`, "", "no fields to update"},
		{`in.csv:9: id: contains "/"; only A-Z, a-z, 0-9, "_" and "-" are allowed: "a/b"`,
			"id", `contains "/"; only A-Z, a-z, 0-9, "_" and "-" are allowed`},
		{`in.csv:3: id: longer than 64 characters: 65 characters, "aaa…"`, "id", "longer than 64 characters"},
		{`in.csv:3: last_name: contains punctuation, symbols or other characters (the creation endpoint allows only letters, spaces, hyphens and apostrophes in names): "," "." in "Smith, Jr."`,
			"last_name", "contains punctuation, symbols or other characters (the creation endpoint allows only letters, spaces, hyphens and apostrophes in names)"},
		{`in.csv:3: phone_number: not a valid NG phone number, and "00" is not NG's international prefix (009): "00234 803" with "00" as "+" would be +234803 (NG); write it so if that is meant`,
			"phone_number", `not a valid NG phone number, and "00" is not NG's international prefix (009)`},
		{`in.csv:3: billing_address: line1, city and country are required when the address is updated; missing: city`,
			"billing_address", "line1, city and country are required when the address is updated; missing: city"},
		{`in.ndjson:4: line is not a JSON object`, "", "line is not a JSON object"},
		{`in.csv:4: first_name: value ends in a quote: "a\"": "x"`, "first_name", `value ends in a quote`},
	}
	for _, tc := range tests {
		if f, p := invalidReason(tc.text); f != tc.field || p != tc.problem {
			t.Errorf("invalidReason(%q) = %q, %q; want %q, %q", tc.text, f, p, tc.field, tc.problem)
		}
	}
}

func TestRejectedReason(t *testing.T) {
	tests := []struct {
		text, field, problem string
	}{
		{"422 validation_error: phone_number: Invalid phone number format (request req_42)",
			"phone_number", "422 validation_error: Invalid phone number format"},
		{"422 validation_error: email: has already been taken; phone_number: bad (request r)",
			"", "422 validation_error: email: has already been taken; phone_number: bad"},
		{"404 not_found: Customer not found (request req_1)", "", "404 not_found: Customer not found"},
		{"400: bad request", "", "400: bad request"},
		{"something odd", "", "something odd"},
	}
	for _, tc := range tests {
		if f, p := rejectedReason(tc.text); f != tc.field || p != tc.problem {
			t.Errorf("rejectedReason(%q) = %q, %q; want %q, %q", tc.text, f, p, tc.field, tc.problem)
		}
	}
}
