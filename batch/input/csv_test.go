package input

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func mustMapping(t *testing.T, specs ...string) Mapping {
	t.Helper()
	var m Mapping
	for _, s := range specs {
		if err := m.AddColumn(s); err != nil {
			t.Fatalf("AddColumn(%q) = %v", s, err)
		}
	}
	return m
}

var longCSV = strings.Repeat("x", 10000)

var csvRecordTests = []struct {
	name    string
	in      string
	opts    Options
	columns []string // --column specs
	want    []row
	end     error    // the error that ends reading; nil for io.EOF
	endMsg  []string // what that error says
}{{
	name: "canonical header, LF",
	in:   "id,first_name,email\n1,Ann,ann@x.io\n2,Bob,\n",
	want: []row{
		{num: 1, line: 2, vals: map[Field]Value{ID: set("1"), FirstName: set("Ann"), Email: set("ann@x.io")}},
		{num: 2, line: 3, vals: map[Field]Value{ID: set("2"), FirstName: set("Bob")}},
	},
}, {
	name: "CRLF, no final line break",
	in:   "id,email,billing_address.line1\r\n1,a@b.c,\"Flat 3\r\nMain Rd\"\r\n2,d@e.f,x",
	want: []row{
		{num: 1, line: 2, vals: map[Field]Value{ID: set("1"), Email: set("a@b.c"), Line1: set("Flat 3\nMain Rd")}},
		{num: 2, line: 4, vals: map[Field]Value{ID: set("2"), Email: set("d@e.f"), Line1: set("x")}},
	},
}, {
	name: "BOM, case and spaces in the header",
	in:   "\ufeff ID ,EMAIL, Billing_Address.Zip_Code \n7,x@y.z,123\n",
	want: []row{{num: 1, line: 2, vals: map[Field]Value{ID: set("7"), Email: set("x@y.z"), ZipCode: set("123")}}},
}, {
	name: "a second BOM in the first header cell",
	in:   "\ufeff\ufeffid,email\n7,x@y.z\n",
	want: []row{{num: 1, line: 2, vals: map[Field]Value{ID: set("7"), Email: set("x@y.z")}}},
}, {
	name: "quoted commas, doubled quotes, line breaks",
	in:   "id,first_name,billing_address.line1\n1,\"Smith, Ann\",\"12 \"\"Oak\"\" St\"\n2,Bob,\"Flat 3\nMain Rd\"\n3,Cy,x\n",
	want: []row{
		{num: 1, line: 2, vals: map[Field]Value{ID: set("1"), FirstName: set("Smith, Ann"), Line1: set(`12 "Oak" St`)}},
		{num: 2, line: 3, vals: map[Field]Value{ID: set("2"), FirstName: set("Bob"), Line1: set("Flat 3\nMain Rd")}},
		{num: 3, line: 5, vals: map[Field]Value{ID: set("3"), FirstName: set("Cy"), Line1: set("x")}},
	},
}, {
	name: "blank lines are skipped but counted",
	in:   "id\n\n1\n\r\n\n2\n",
	want: []row{
		{num: 1, line: 3, vals: map[Field]Value{ID: set("1")}},
		{num: 2, line: 6, vals: map[Field]Value{ID: set("2")}},
	},
}, {
	name:    "mapping with --column",
	in:      "Record ID,street,Email,Notes\nR1,Main St,a@b.c,n\n",
	columns: []string{"Record ID=id", "Street=billing_address.line1", "notes=-"},
	want:    []row{{num: 1, line: 2, vals: map[Field]Value{ID: set("R1"), Line1: set("Main St"), Email: set("a@b.c")}}},
}, {
	name: "empty, white space and #N/A",
	in:   "id,first_name,last_name,email,phone_number\n1,,  ,#N/A, #N/A \n",
	want: []row{{num: 1, line: 2, vals: map[Field]Value{ID: set("1"), Email: clear, Phone: clear}}},
}, {
	name: "EmptyClears clears empty cells, not missing columns",
	in:   "id,first_name,last_name,email,phone_number\n1,,  ,#N/A,x\n",
	opts: Options{EmptyClears: true},
	want: []row{{num: 1, line: 2, vals: map[Field]Value{ID: set("1"), FirstName: clear, LastName: clear, Email: clear, Phone: set("x")}}},
}, {
	name: "neutralized cells lose their quote",
	in: "id,first_name,last_name,email,phone_number,billing_address.line1,billing_address.line2,billing_address.city\n" +
		"1,'=SUM(A1),'-x,'@y,'+2348012345678,\"'\tTab\",\"'\rCR\",'plain\n" +
		"2,''=x,',,,,,\n" +
		"3,'\t,' =x,,,,,\n",
	want: []row{
		{num: 1, line: 2, vals: map[Field]Value{ID: set("1"), FirstName: set("=SUM(A1)"), LastName: set("-x"), Email: set("@y"),
			Phone: set("+2348012345678"), Line1: set("\tTab"), Line2: set("\rCR"), City: set("'plain")}},
		{num: 2, line: 3, vals: map[Field]Value{ID: set("2"), FirstName: set("''=x"), LastName: set("'")}},
		{num: 3, line: 4, vals: map[Field]Value{ID: set("3"), LastName: set("' =x")}},
	},
}, {
	name: "wrong field count",
	in:   "id,email,first_name\n1,a@b.c\n2,b@c.d,Bo,extra\n3,c@d.e,Cy\n",
	want: []row{
		{num: 1, line: 2, vals: map[Field]Value{ID: set("1"), Email: set("a@b.c")}, errReason: "expected 3 fields, found 2"},
		{num: 2, line: 3, vals: map[Field]Value{ID: set("2"), Email: set("b@c.d"), FirstName: set("Bo")}, errReason: "expected 3 fields, found 4"},
		{num: 3, line: 4, vals: map[Field]Value{ID: set("3"), Email: set("c@d.e"), FirstName: set("Cy")}},
	},
}, {
	name: "bare quote",
	in:   "id,first_name\n1,Jo\"hn\n2,Ann\n",
	want: []row{
		{num: 1, line: 2, errReason: `bare " in a field without quotes at column 5`},
		{num: 2, line: 3, vals: map[Field]Value{ID: set("2"), FirstName: set("Ann")}},
	},
}, {
	name: "stray quote after a quoted field that spans lines",
	in:   "id,first_name\n1,\"An\nn\"x\n2,Bo\n",
	want: []row{
		{num: 1, line: 2, errReason: `extraneous or missing " in a quoted field at line 3, column 2`},
		{num: 2, line: 4, vals: map[Field]Value{ID: set("2"), FirstName: set("Bo")}},
	},
}, {
	name:   "unterminated quote",
	in:     "id,first_name\n1,Ann\n2,\"Bob\n3,Cy\n4,Di\n",
	want:   []row{{num: 1, line: 2, vals: map[Field]Value{ID: set("1"), FirstName: set("Ann")}}},
	end:    ErrUnterminatedQuote,
	endMsg: []string{"in:3: quoted field opened at line 3, column 3 is never closed", "lines 3-5"},
}, {
	name: "invalid UTF-8 in a mapped and an unmapped column",
	in:   "id,email,Notes\n1,a\xffb@c.d,x\n2,b@c.d,\xfe\n3,ok@x.y,fine\n",
	want: []row{
		{num: 1, line: 2, vals: map[Field]Value{ID: set("1")}, errField: "email", errReason: "not valid UTF-8"},
		{num: 2, line: 3, vals: map[Field]Value{ID: set("2"), Email: set("b@c.d")}, errField: "Notes", errReason: "not valid UTF-8"},
		{num: 3, line: 4, vals: map[Field]Value{ID: set("3"), Email: set("ok@x.y")}},
	},
}, {
	name: "header only",
	in:   "id,email\n",
}, {
	name: "header only, no line break",
	in:   "id,email",
}, {
	name:   "record over the size limit",
	in:     "id,first_name\n1,ok\n\n2," + longCSV + "\n3,ok\n",
	opts:   Options{maxRecord: 16},
	want:   []row{{num: 1, line: 2, vals: map[Field]Value{ID: set("1"), FirstName: set("ok")}}},
	end:    ErrRecordTooLong,
	endMsg: []string{"in:4: record is longer than 16 bytes"},
}, {
	name:   "open quote over the size limit",
	in:     "id,first_name\n1,ok\n2,\"" + longCSV + "\n3,ok\n",
	opts:   Options{maxRecord: 16},
	want:   []row{{num: 1, line: 2, vals: map[Field]Value{ID: set("1"), FirstName: set("ok")}}},
	end:    ErrUnterminatedQuote,
	endMsg: []string{"in:3: quoted field opened at line 3, column 3 is not closed within 16 bytes"},
}}

func TestCSVRecords(t *testing.T) {
	tests := csvRecordTests
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := tt.opts
			opts.Mapping = mustMapping(t, tt.columns...)
			recs, _, end, err := readAll(t, CSV, tt.in, opts)
			if err != nil {
				t.Fatalf("Open(%q) = %v", tt.in, err)
			}
			checkRows(t, tt.name, recs, tt.want)
			checkErr(t, tt.name, end, tt.end, tt.endMsg...)
		})
	}
}

func TestCSVOpenErrors(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		columns []string
		strict  bool
		want    error
		msg     []string
	}{
		{name: "empty", in: "", want: ErrEmptyFile, msg: []string{"in: file is empty"}},
		{name: "BOM only", in: "\ufeff", want: ErrEmptyFile},
		{name: "blank lines only", in: "\n\r\n\n", want: ErrEmptyFile},
		{name: "UTF-16 LE", in: "\xff\xfei\x00d\x00\n\x00", want: ErrEncoding, msg: []string{"in: file is UTF-16; save it as UTF-8"}},
		{name: "UTF-16 BE", in: "\xfe\xff\x00i\x00d", want: ErrEncoding, msg: []string{"file is UTF-16; save it as UTF-8"}},
		{name: "UTF-16 without BOM", in: "i\x00d\x00\n\x00", want: ErrEncoding, msg: []string{"NUL bytes"}},
		{name: "invalid UTF-8 in the header", in: "id,n\xffame\n", want: ErrEncoding, msg: []string{"in:1: header: column 2 is not valid UTF-8"}},
		{name: "no column names", in: ",, \n1,2,3\n", want: ErrNoHeader},
		{name: "bare quote in the header", in: "id,na\"me\n", want: ErrMalformedHeader, msg: []string{"in:1: header: bare \""}},
		{name: "unterminated quote in the header", in: "\n\nid,\"name\n1,2\n", want: ErrUnterminatedQuote, msg: []string{"in:3: quoted field opened at line 3, column 4"}},
		{name: "no id column", in: "Record ID,Email\n1,a\n", want: ErrNoIDColumn,
			msg: []string{`no column maps to id; the columns are "Record ID", "Email"`, `add --column "Record ID=id"`}},
		{name: "semicolons", in: "id;email\n1;a\n", want: ErrNoIDColumn, msg: []string{`one column holding ";"`}},
		{name: "two columns for one field", in: "id,Email,E-mail Address\n", columns: []string{"E-mail Address=email"},
			want: ErrDuplicateColumn, msg: []string{`columns "Email" (2) and "E-mail Address" (3) both map to email`}},
		{name: "a column twice", in: "id,email, EMAIL\n", want: ErrDuplicateColumn, msg: []string{`columns "email" (2) and "EMAIL" (3)`}},
		{name: "strict with unmapped columns", in: "id,Owner,e-mail\n", strict: true, want: ErrUnmappedColumns,
			msg: []string{"--strict: columns not mapped to any field: Owner, e-mail", `did you mean email? add --column "e-mail=email"`}},
		{name: "strict ignores juicebatch_error and columns mapped to -", in: "id,juicebatch_error,Owner\n", columns: []string{"owner=-"}, strict: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := Options{Name: "in", Mapping: mustMapping(t, tt.columns...), Strict: tt.strict}
			_, err := Open(strings.NewReader(tt.in), CSV, opts)
			checkErr(t, tt.name, err, tt.want, tt.msg...)
			if tt.want == nil {
				return
			}
			// OpenRaw needs no mapping, but refuses what cannot be a header.
			_, rawErr := OpenRaw(strings.NewReader(tt.in), CSV, "in")
			switch {
			case errors.Is(tt.want, ErrNoIDColumn), errors.Is(tt.want, ErrDuplicateColumn), errors.Is(tt.want, ErrUnmappedColumns):
				checkErr(t, "OpenRaw: "+tt.name, rawErr, nil)
			default:
				checkErr(t, "OpenRaw: "+tt.name, rawErr, tt.want, tt.msg...)
			}
		})
	}
}

func TestCSVWarnings(t *testing.T) {
	tests := []struct {
		name   string
		header string
		want   []string
	}{
		{name: "canonical only", header: "id,email,billing_address.country"},
		{name: "unmapped and misspelt", header: "id,Owner,Lead Status,e-mail,phone_numer,Zip Code,juicebatch_error", want: []string{
			"ignoring columns not mapped to any field: Owner, Lead Status, e-mail, phone_numer, Zip Code",
			`column "e-mail" is not mapped; did you mean email? add --column "e-mail=email"`,
			`column "phone_numer" is not mapped; did you mean phone_number? add --column "phone_numer=phone_number"`,
			`column "Zip Code" is not mapped; did you mean billing_address.zip_code? add --column "Zip Code=billing_address.zip_code"`,
		}},
		{name: "no hint for a field already mapped", header: "id,billing_address.line1,billing_address.line2,Line 3", want: []string{
			"ignoring columns not mapped to any field: Line 3",
		}},
		{name: "no hint for short or distant names", header: "id,IP,Status,Phone", want: []string{
			"ignoring columns not mapped to any field: IP, Status, Phone",
		}},
		{name: "columns without a name", header: "id,,", want: []string{
			"ignoring columns not mapped to any field: (column 2, no name), (column 3, no name)",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rd, err := Open(strings.NewReader(tt.header+"\n"), CSV, Options{Name: "in"})
			if err != nil {
				t.Fatalf("Open(%q) = %v", tt.header, err)
			}
			if got := rd.Warnings(); !slices.Equal(got, tt.want) {
				t.Errorf("Warnings() for %q = %q; want %q", tt.header, got, tt.want)
			}
			if again := rd.Warnings(); again != nil {
				t.Errorf("second Warnings() = %q; want nil", again)
			}
		})
	}
}
