package sandbox

import (
	"bytes"
	"encoding/json"
	"net"
	"net/http"
	"slices"
	"sort"
	"unicode/utf8"
)

// edit is a checked POST /_sandbox/edit body: the customer and the values
// to give it. A nil pointer leaves a field alone; "" clears it.
type edit struct {
	id                                string
	firstName, lastName, email, phone *string
	setAddress                        bool
	address                           *Address // nil with setAddress: no address
}

// serveEdit changes a record as the provider's own app would: no auth, no
// limits, not an update request and not a read. Only loopback clients may.
func (s *Server) serveEdit(w http.ResponseWriter, r *http.Request, reqID string) {
	if !fromLoopback(r) {
		s.write(w, r, false, noKey, errAnswer(&apiError{status: http.StatusForbidden, code: "forbidden",
			message: "POST /_sandbox/edit is served to loopback clients only", typ: typeInvalid}, reqID, nil))
		return
	}
	body, aerr := readBody(w, r)
	var e edit
	if aerr == nil {
		e, aerr = parseEdit(body)
	}
	if aerr != nil {
		s.write(w, r, false, noKey, errAnswer(aerr, reqID, nil))
		return
	}
	s.mu.Lock()
	v, changed, aerr := s.editLocked(e)
	s.mu.Unlock()
	if aerr != nil {
		s.write(w, r, false, noKey, errAnswer(aerr, reqID, nil))
		return
	}
	s.write(w, r, false, noKey, answer{status: http.StatusOK, body: mustJSON(struct {
		Data    readView `json:"data"`
		Changed bool     `json:"changed"`
	}{v, changed})})
}

// fromLoopback reports whether the request came from a loopback address.
func fromLoopback(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// editLocked applies e. A change moves updated_at to now and starts a new
// generation for duplicate detection. s.mu must be held.
func (s *Server) editLocked(e edit) (readView, bool, *apiError) {
	rec, ok := s.customers[e.id]
	if !ok {
		return readView{}, false, errNotFound()
	}
	if e.email != nil && *e.email != "" {
		if owner, taken := s.emails[emailKey(*e.email)]; taken && owner != e.id {
			return readView{}, false, fieldError("set.email", reasonTaken)
		}
	}
	before := rec.Customer.clone()
	if e.email != nil {
		if rec.Email != "" && s.emails[emailKey(rec.Email)] == rec.ID {
			delete(s.emails, emailKey(rec.Email))
		}
		rec.Email = *e.email
		if rec.Email != "" {
			s.emails[emailKey(rec.Email)] = rec.ID
		}
	}
	for _, f := range []struct{ dst, v *string }{
		{&rec.FirstName, e.firstName}, {&rec.LastName, e.lastName}, {&rec.PhoneNumber, e.phone},
	} {
		if f.v != nil {
			*f.dst = *f.v
		}
	}
	if e.setAddress {
		rec.BillingAddress = e.address
	}
	s.stats.Edits++
	changed := !sameValues(before, rec.Customer)
	if changed {
		rec.touch(s.clock.Now())
		rec.gen++
	}
	return rec.view(allFields), changed, nil
}

// parseEdit decodes and validates an edit body:
//
//	{"id": "c-1", "set": {"email": "x@example.com", "phone_number": null,
//	                      "billing_address": {"line1": "1 Rd", "city": "Lagos", "country": "NG"}}}
func parseEdit(body []byte) (edit, *apiError) {
	if len(bytes.TrimSpace(body)) == 0 {
		return edit{}, errInvalidJSON(`Request body is empty; send {"id": "...", "set": {...}}`)
	}
	if !utf8.Valid(body) {
		return edit{}, errInvalidJSON("Request body is not valid UTF-8")
	}
	var top map[string]json.RawMessage
	if err := decodeOne(body, &top); err != nil {
		return edit{}, errInvalidJSON(`Request body must be a JSON object {"id": "...", "set": {...}}: ` + err.Error())
	}
	if top == nil {
		return edit{}, errInvalidJSON(`Request body must be a JSON object {"id": "...", "set": {...}}`)
	}
	fe := fieldErrors{}
	var e edit
	for k := range top {
		if k != "id" && k != "set" {
			fe.add(k, reasonUnknown)
		}
	}
	if raw, ok := top["id"]; !ok || json.Unmarshal(raw, &e.id) != nil || !ValidID(e.id) {
		fe.add("id", "must be the id of a customer, a string matching ^[A-Za-z0-9_-]{1,64}$")
	}
	var set map[string]json.RawMessage
	if raw, ok := top["set"]; !ok || json.Unmarshal(raw, &set) != nil || set == nil {
		fe.add("set", "must be an object of the fields to change")
	} else if len(set) == 0 {
		fe.add("set", "must change at least one field")
	}
	keys := make([]string, 0, len(set))
	for k := range set {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		raw := set[k]
		name := "set." + k
		switch k {
		case "first_name", "last_name", "email", "phone_number":
			var v *string
			if err := json.Unmarshal(raw, &v); err != nil {
				fe.add(name, "must be a string or null")
				continue
			}
			if v == nil {
				v = new(string) // null clears, as in the app
			}
			if *v != "" {
				if reason := checkString(k, *v); reason != "" {
					fe.add(name, reason)
					continue
				}
			}
			switch k {
			case "first_name":
				e.firstName = v
			case "last_name":
				e.lastName = v
			case "email":
				e.email = v
			case "phone_number":
				e.phone = v
			}
		case "billing_address":
			e.setAddress = true
			e.address = parseEditAddress(raw, name, fe)
		default:
			fe.add(name, reasonUnknown)
		}
	}
	if len(fe) > 0 {
		return edit{}, validationError(fe)
	}
	return e, nil
}

// parseEditAddress reads set.billing_address: null or "" removes the
// address; an object replaces it whole, a missing or null key being empty.
func parseEditAddress(raw json.RawMessage, name string, fe fieldErrors) *Address {
	var str string
	if string(raw) == "null" || (json.Unmarshal(raw, &str) == nil && str == "") {
		return nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil || obj == nil {
		fe.add(name, `must be an object, "" or null (both remove the address)`)
		return nil
	}
	a := &Address{}
	for k, v := range obj {
		if !slices.Contains(addressKeys(), k) {
			fe.add(name+"."+k, reasonUnknown)
			continue
		}
		var s *string
		if err := json.Unmarshal(v, &s); err != nil {
			fe.add(name+"."+k, "must be a string or null")
			continue
		}
		if s != nil {
			*a.field(k) = *s
		}
	}
	if a.Country != "" {
		if r := checkCountry(a.Country); r != "" {
			fe.add(name+".country", r)
		}
	}
	return a
}
