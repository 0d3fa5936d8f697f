package normalize

import (
	"testing"

	"github.com/juicebatch/juicebatch/batch/input"
)

func BenchmarkUpdate(b *testing.B) {
	rows := []struct {
		name string
		in   vals
	}{
		{"e164", vals{
			input.ID: set("6f7e1e7f-93d1-4fcc-b7a4-738f869615c8"), input.FirstName: set("Ada"),
			input.LastName: set("Lovelace"), input.Email: set("ada@example.com"), input.Phone: set("+2348031234567"),
			input.Line1: set("1 Marina Rd"), input.City: set("Lagos"), input.Country: set("NG"),
		}},
		{"national", vals{
			input.ID: set(" 6f7e1e7f-93d1-4fcc-b7a4-738f869615c8 "), input.FirstName: set(" Ada "),
			input.LastName: set("Lovelace"), input.Email: set("Ada@Example.COM"), input.Phone: set("0803 123 4567"),
			input.Line1: set("1 Marina Rd"), input.City: set("Lagos"), input.Country: set("Nigeria"),
		}},
		{"invalid_phone", vals{
			input.ID: set("c1"), input.Phone: set("0803 123 4567"),
		}},
	}
	n := newNormalizer(b, Options{})
	for _, r := range rows {
		rec := record(r.in)
		b.Run(r.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				n.Update(rec)
			}
		})
	}
}

func BenchmarkMarshalJSON(b *testing.B) {
	body := fullBody()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := body.MarshalJSON(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDigests(b *testing.B) {
	body := fullBody()
	b.ReportAllocs()
	for b.Loop() {
		body.Digests()
	}
}

func BenchmarkNew(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := New(Options{PhoneRegion: "NG"}); err != nil {
			b.Fatal(err)
		}
	}
}
