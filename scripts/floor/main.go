// Command floor is the baseline juicebatch's benchmarks compare `plan` with:
// the least work any tool must do to read every row of an input file, with
// nothing of juicebatch's (no mapping, validation, state or report).
//
// For CSV (issue 6's floor) it reads the file with encoding/csv, turns each
// row into a struct of the canonical fields by the header's names (empty
// cells left out, other columns ignored), encodes it with json.Marshal and
// hashes the JSON with SHA-256. For NDJSON
// it is a bare json.Decoder pass: each line decoded into a struct of the
// canonical fields (billing_address nested), nothing more.
//
//	floor FILE.csv
//	floor FILE.ndjson
//
// It prints the number of rows and an XOR of the row digests (CSV), so the
// work cannot be optimized away and two runs can be compared. It exits 0 on
// success, 1 when the file cannot be read, 2 on a usage error. One process
// reads one file; it has no state beyond that.
package main

import (
	"bufio"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) != 1 {
		fmt.Fprintln(stderr, "usage: floor FILE.csv|FILE.ndjson")
		return 2
	}
	path := args[0]
	f, err := os.Open(path)
	if err != nil {
		fmt.Fprintf(stderr, "floor: %v\n", err)
		return 1
	}
	defer f.Close()
	var rows int
	var sum [32]byte
	switch strings.ToLower(filepath.Ext(path)) {
	case ".csv":
		rows, sum, err = csvPass(f)
	case ".ndjson", ".jsonl":
		rows, err = ndjsonPass(f)
	default:
		fmt.Fprintf(stderr, "floor: %s: want a .csv, .ndjson or .jsonl file\n", path)
		return 2
	}
	if err != nil {
		fmt.Fprintf(stderr, "floor: %s: %v\n", path, err)
		return 1
	}
	fmt.Fprintf(stdout, "%d rows %s\n", rows, hex.EncodeToString(sum[:8]))
	return 0
}

// csvPass is encoding/csv → json.Marshal → SHA-256, per row. Each row
// becomes a customer (cells placed by the header's canonical names, empty
// ones left out) so that the JSON is what a request body would be; a map per
// row would cost about twice as much and make the floor easier to beat.
func csvPass(r io.Reader) (int, [32]byte, error) {
	var acc [32]byte
	cr := csv.NewReader(bufio.NewReaderSize(r, 1<<16))
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err != nil {
		return 0, acc, fmt.Errorf("read header: %w", err)
	}
	header = append([]string(nil), header...)
	rows := 0
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return rows, acc, nil
		}
		if err != nil {
			return rows, acc, fmt.Errorf("read row %d: %w", rows+1, err)
		}
		var c customer
		var a address
		for i, v := range rec {
			if i < len(header) && v != "" {
				c.set(&a, header[i], v)
			}
		}
		if a != (address{}) {
			c.BillingAddress = &a
		}
		b, err := json.Marshal(&c)
		if err != nil {
			return rows, acc, fmt.Errorf("encode row %d: %w", rows+1, err)
		}
		d := sha256.Sum256(b)
		for i := range acc {
			acc[i] ^= d[i]
		}
		rows++
	}
}

// set puts the cell of column name into c or a.
func (c *customer) set(a *address, name, v string) {
	switch name {
	case "id":
		c.ID = v
	case "first_name":
		c.FirstName = v
	case "last_name":
		c.LastName = v
	case "email":
		c.Email = v
	case "phone_number":
		c.PhoneNumber = v
	case "billing_address.line1":
		a.Line1 = v
	case "billing_address.line2":
		a.Line2 = v
	case "billing_address.city":
		a.City = v
	case "billing_address.state":
		a.State = v
	case "billing_address.zip_code":
		a.ZipCode = v
	case "billing_address.country":
		a.Country = v
	}
}

// address is a billing address.
type address struct {
	Line1   string `json:"line1,omitempty"`
	Line2   string `json:"line2,omitempty"`
	City    string `json:"city,omitempty"`
	State   string `json:"state,omitempty"`
	ZipCode string `json:"zip_code,omitempty"`
	Country string `json:"country,omitempty"`
}

// customer is a row: decoded from NDJSON, or built from a CSV row.
type customer struct {
	ID             string   `json:"id"`
	FirstName      string   `json:"first_name,omitempty"`
	LastName       string   `json:"last_name,omitempty"`
	Email          string   `json:"email,omitempty"`
	PhoneNumber    string   `json:"phone_number,omitempty"`
	BillingAddress *address `json:"billing_address,omitempty"`
}

// ndjsonPass decodes every object with one json.Decoder.
func ndjsonPass(r io.Reader) (int, error) {
	dec := json.NewDecoder(bufio.NewReaderSize(r, 1<<16))
	rows := 0
	for {
		var c customer
		err := dec.Decode(&c)
		if errors.Is(err, io.EOF) {
			return rows, nil
		}
		if err != nil {
			return rows, fmt.Errorf("decode row %d: %w", rows+1, err)
		}
		rows++
	}
}
