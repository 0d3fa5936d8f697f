package sandbox

import (
	"bytes"
	"encoding/json"
	"sort"
	"strings"
	"time"
)

// record is a stored customer with what the read endpoints add to it.
type record struct {
	Customer
	created, updated time.Time // UTC, no monotonic reading
	// pos is the record's index in Server.order.
	pos int
	// gen counts the edits (POST /_sandbox/edit) that changed the record;
	// it is part of the duplicate-application key, so an update re-applied
	// after the provider's app changed the record is not a duplicate.
	gen int
}

// seedTimes returns the created_at of n loaded customers: whole seconds,
// one apart, ascending in load order, the last one second before now
// (truncated to the second). Distinct times make the created_at order, and
// so every page and cursor, the same on every run.
func seedTimes(now time.Time, n int) []time.Time {
	base := now.UTC().Truncate(time.Second)
	out := make([]time.Time, n)
	for i := range out {
		out[i] = base.Add(-time.Duration(n-i) * time.Second)
	}
	return out
}

// addLocked stores a new record created at the clock's now, or a
// nanosecond after the newest record when now is not later, so that
// s.order stays sorted by created with no two alike. s.mu must be held.
func (s *Server) addLocked(c Customer, now time.Time) *record {
	created := now.UTC()
	if n := len(s.order); n > 0 && !created.After(s.order[n-1].created) {
		created = s.order[n-1].created.Add(time.Nanosecond)
	}
	rec := &record{Customer: c, created: created, updated: created, pos: len(s.order)}
	s.order = append(s.order, rec)
	s.customers[c.ID] = rec
	if c.Email != "" {
		s.emails[emailKey(c.Email)] = c.ID
	}
	return rec
}

// touch marks rec as changed at now; s.mu must be held. updated_at never goes below
// created_at, which may lie a few nanoseconds ahead of the clock.
func (rec *record) touch(now time.Time) {
	rec.updated = now.UTC()
	if rec.updated.Before(rec.created) {
		rec.updated = rec.created
	}
}

// sameValues reports whether two customers hold the same values.
func sameValues(a, b Customer) bool {
	if (a.BillingAddress == nil) != (b.BillingAddress == nil) {
		return false
	}
	if a.BillingAddress != nil && *a.BillingAddress != *b.BillingAddress {
		return false
	}
	a.BillingAddress, b.BillingAddress = nil, nil
	return a == b
}

// searchCreated returns the index of the first record in recs (sorted by
// created) whose created is after t, or, with orEqual, not before t.
func searchCreated(recs []*record, t time.Time, orEqual bool) int {
	return sort.Search(len(recs), func(i int) bool {
		if orEqual {
			return !recs[i].created.Before(t)
		}
		return recs[i].created.After(t)
	})
}

// The fields of a record as the read endpoints show it, in their order.
// fields= selects among them.
var readFieldNames = [...]string{"id", "first_name", "last_name", "email", "phone_number", "billing_address", "created_at", "updated_at"}

// fieldMask selects read fields: bit i is readFieldNames[i].
type fieldMask uint16

const allFields fieldMask = 1<<len(readFieldNames) - 1

// parseFields reads a fields= value: a comma-separated list of top-level
// field names (white space around a name is ignored, repeats are allowed).
// id is always returned. It reports the first unknown name, or "" when the
// list is empty.
func parseFields(v string) (fieldMask, string, bool) {
	m := fieldMask(1) // id
	named := false
	for name := range strings.SplitSeq(v, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		i := indexOf(name)
		if i < 0 {
			return 0, name, false
		}
		m |= 1 << i
		named = true
	}
	if !named {
		return 0, "", false
	}
	return m, "", true
}

func indexOf(name string) int {
	for i, n := range readFieldNames {
		if n == name {
			return i
		}
	}
	return -1
}

// readView renders a record as the read endpoints show it: every field the
// mask selects, an empty value as null (an empty address line too),
// created_at and updated_at in RFC 3339, UTC. The values are copied when
// the view is made, so it can be encoded after the lock is released.
type readView struct {
	c                Customer
	created, updated time.Time
	mask             fieldMask
}

func (rec *record) view(mask fieldMask) readView {
	return readView{c: rec.Customer.clone(), created: rec.created, updated: rec.updated, mask: mask}
}

// timeFormat is RFC 3339 in UTC, with a fraction only when there is one.
const timeFormat = time.RFC3339Nano

// MarshalJSON writes the fields in the API's order.
func (v readView) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	value := func(x any) {
		_ = enc.Encode(x) // strings and nil always encode
		buf.Truncate(buf.Len() - 1)
	}
	orNull := func(s string) any {
		if s == "" {
			return nil
		}
		return s
	}
	buf.WriteByte('{')
	first := true
	for i, name := range readFieldNames {
		if v.mask&(1<<i) == 0 {
			continue
		}
		if !first {
			buf.WriteByte(',')
		}
		first = false
		value(name)
		buf.WriteByte(':')
		switch name {
		case "id":
			value(v.c.ID)
		case "first_name":
			value(orNull(v.c.FirstName))
		case "last_name":
			value(orNull(v.c.LastName))
		case "email":
			value(orNull(v.c.Email))
		case "phone_number":
			value(orNull(v.c.PhoneNumber))
		case "billing_address":
			a := v.c.BillingAddress
			if a == nil {
				buf.WriteString("null")
				continue
			}
			buf.WriteByte('{')
			for j, k := range addressKeys() {
				if j > 0 {
					buf.WriteByte(',')
				}
				value(k)
				buf.WriteByte(':')
				value(orNull(*a.field(k)))
			}
			buf.WriteByte('}')
		case "created_at":
			value(v.created.Format(timeFormat))
		case "updated_at":
			value(v.updated.Format(timeFormat))
		}
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}
