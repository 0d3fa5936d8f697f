package sandbox

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// edit posts body to /_sandbox/edit, without auth.
func (e *env) edit(body string) resp {
	e.t.Helper()
	return e.send(e.request(context.Background(), http.MethodPost, "/_sandbox/edit", body, nil))
}

// editAnswer is a 200 of /_sandbox/edit, decoded.
type editAnswer struct {
	Data    json.RawMessage `json:"data"`
	Changed *bool           `json:"changed"`
}

func TestEditOnlyFromLoopback(t *testing.T) {
	e := newWrappedEnv(t, Options{}, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			r.RemoteAddr = "203.0.113.9:40000" // as if from another host
			h.ServeHTTP(w, r)
		})
	})
	r := e.edit(`{"id":"` + exampleID + `","set":{"first_name":"Eve"}}`)
	if r.status != http.StatusForbidden || r.errorBody(t).Error.Code != "forbidden" {
		t.Errorf("edit from 203.0.113.9 = %d %s; want 403 forbidden", r.status, r.body)
	}
	if c, _ := e.srv.Customer(exampleID); c.FirstName != "Test" {
		t.Errorf("first_name after a refused edit = %q; want Test", c.FirstName)
	}
	if st := e.stats(); st.Edits != 0 {
		t.Errorf("edits = %d; want 0", st.Edits)
	}
}

func TestEditErrors(t *testing.T) {
	e := newEnv(t, Options{Customers: []Customer{{ID: "a", Email: "a@example.com"}, {ID: "b", Email: "b@example.com"}}})
	tests := []struct {
		name   string
		body   string
		want   int
		code   string
		fields []string // details keys
	}{
		{"empty body", ``, 400, "invalid_json", nil},
		{"broken JSON", `{"id":`, 400, "invalid_json", nil},
		{"not an object", `["a"]`, 400, "invalid_json", nil},
		{"null", `null`, 400, "invalid_json", nil},
		{"no id", `{"set":{"first_name":"Ann"}}`, 422, "validation_error", []string{"id"}},
		{"bad id", `{"id":"a b","set":{"first_name":"Ann"}}`, 422, "validation_error", []string{"id"}},
		{"id a number", `{"id":7,"set":{"first_name":"Ann"}}`, 422, "validation_error", []string{"id"}},
		{"no set", `{"id":"a"}`, 422, "validation_error", []string{"set"}},
		{"empty set", `{"id":"a","set":{}}`, 422, "validation_error", []string{"set"}},
		{"set not an object", `{"id":"a","set":"x"}`, 422, "validation_error", []string{"set"}},
		{"unknown top-level key", `{"id":"a","set":{"first_name":"Ann"},"create":true}`, 422, "validation_error", []string{"create"}},
		{"unknown field", `{"id":"a","set":{"nickname":"Al"}}`, 422, "validation_error", []string{"set.nickname"}},
		{"created_at is not editable", `{"id":"a","set":{"created_at":"2026-01-01T00:00:00Z"}}`, 422, "validation_error", []string{"set.created_at"}},
		{"every bad field named", `{"id":"a","set":{"email":"nope","phone_number":"0801","first_name":7}}`, 422, "validation_error",
			[]string{"set.email", "set.first_name", "set.phone_number"}},
		{"address not an object", `{"id":"a","set":{"billing_address":5}}`, 422, "validation_error", []string{"set.billing_address"}},
		{"address unknown key", `{"id":"a","set":{"billing_address":{"zip":"1"}}}`, 422, "validation_error", []string{"set.billing_address.zip"}},
		{"address bad country", `{"id":"a","set":{"billing_address":{"country":"usa"}}}`, 422, "validation_error", []string{"set.billing_address.country"}},
		{"address line not a string", `{"id":"a","set":{"billing_address":{"city":1}}}`, 422, "validation_error", []string{"set.billing_address.city"}},
		{"email taken", `{"id":"a","set":{"email":"B@example.com"}}`, 422, "validation_error", []string{"set.email"}},
		{"unknown customer", `{"id":"nobody","set":{"first_name":"Ann"}}`, 404, "not_found", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.edit(tt.body)
			if r.status != tt.want {
				t.Fatalf("edit %s = %d %s; want %d", tt.body, r.status, r.body, tt.want)
			}
			eb := r.errorBody(t)
			var got []string
			for k := range eb.Error.Details {
				got = append(got, k)
			}
			slices.Sort(got)
			if eb.Error.Code != tt.code || !cmp.Equal(got, tt.fields) {
				t.Errorf("edit %s = %s %v; want %s naming %v", tt.body, eb.Error.Code, got, tt.code, tt.fields)
			}
		})
	}
	if a, _ := e.srv.Customer("a"); a != (Customer{ID: "a", Email: "a@example.com"}) {
		t.Errorf("a after refused edits = %+v; want it unchanged", a)
	}
	if st := e.stats(); st.Edits != 0 || st.Reads != 0 {
		t.Errorf("edits, reads = %d, %d; want 0, 0", st.Edits, st.Reads)
	}
	if r := e.send(e.request(context.Background(), http.MethodPut, "/_sandbox/edit", `{}`, nil)); r.status != 405 || r.header.Get("Allow") != "POST" {
		t.Errorf("PUT /_sandbox/edit = %d, Allow %q; want 405, POST", r.status, r.header.Get("Allow"))
	}
}

func TestEditEffects(t *testing.T) {
	e := newEnv(t, Options{PerMinute: 2, ReadsPerHour: 100, Customers: []Customer{
		{ID: "a", FirstName: "Ann", Email: "ann@example.com", PhoneNumber: "+2348031234567",
			BillingAddress: &Address{Line1: "1 Rd", City: "Lagos", Country: "NG"}},
		{ID: "b", Email: "bo@example.com"},
	}})
	// The warehouse's value, applied once before the drift.
	if r := e.patch("a", `{"email":"ann@example.com","first_name":"Ann"}`, nil); r.status != 200 {
		t.Fatalf("first PATCH = %d %s", r.status, r.body)
	}

	e.clock.Advance(5 * time.Minute)
	r := e.edit(`{"id":"a","set":{"email":"ann.new@example.com","phone_number":null,"billing_address":{"line1":"9 Ave","city":"Abuja","country":"NG","zip_code":null}}}`)
	want := `{"data":{"id":"a","first_name":"Ann","last_name":null,"email":"ann.new@example.com","phone_number":null,` +
		`"billing_address":{"line1":"9 Ave","line2":null,"city":"Abuja","state":null,"zip_code":null,"country":"NG"},` +
		`"created_at":"2026-11-27T11:59:58Z","updated_at":"2026-11-27T12:05:00Z"},"changed":true}` + "\n"
	if r.status != 200 || string(r.body) != want {
		t.Fatalf("edit = %d %s; want 200 %s", r.status, r.body, want)
	}
	t.Run("GET shows the edit", func(t *testing.T) {
		g := e.get("/customers/a")
		if wantGet := strings.Replace(want, `,"changed":true`, "", 1); string(g.body) != wantGet {
			t.Errorf("GET /customers/a = %s; want %s", g.body, wantGet)
		}
		if ids := e.list("email=ann.new@example.com").ids(); len(ids) != 1 || ids[0] != "a" {
			t.Errorf("list by the new email = %v; want [a]", ids)
		}
		if ids := e.list("email=ann@example.com").ids(); len(ids) != 0 {
			t.Errorf("list by the old email = %v; want none", ids)
		}
	})
	t.Run("the same values again change nothing", func(t *testing.T) {
		e.clock.Advance(time.Minute)
		var a editAnswer
		r := e.edit(`{"id":"a","set":{"email":"ann.new@example.com","phone_number":""}}`)
		if err := json.Unmarshal(r.body, &a); err != nil || r.status != 200 || a.Changed == nil || *a.Changed {
			t.Fatalf("edit = %d %s; want 200 changed false", r.status, r.body)
		}
		if !strings.Contains(string(a.Data), `"updated_at":"2026-11-27T12:05:00Z"`) {
			t.Errorf("updated_at after an edit that changed nothing = %s; want 12:05:00", a.Data)
		}
	})
	t.Run("the old email is free, the new one taken", func(t *testing.T) {
		if r := e.edit(`{"id":"b","set":{"email":"ANN.NEW@example.com"}}`); r.status != 422 {
			t.Errorf("edit b to a's new email = %d %s; want 422", r.status, r.body)
		}
		if r := e.edit(`{"id":"b","set":{"email":"ann@example.com"}}`); r.status != 200 {
			t.Errorf("edit b to a's old email = %d %s; want 200", r.status, r.body)
		}
		if r := e.edit(`{"id":"b","set":{"email":"bo@example.com"}}`); r.status != 200 {
			t.Errorf("edit b back = %d %s; want 200", r.status, r.body)
		}
	})
	t.Run("PATCH sees the edited values", func(t *testing.T) {
		e.clock.Advance(time.Minute)
		// The same body as before the edit: it changes the record again and
		// is not a duplicate application.
		p := e.patch("a", `{"email":"ann@example.com","first_name":"Ann"}`, nil)
		if p.status != 200 || p.header.Get("X-Ratelimit-Remaining") != "1" {
			t.Fatalf("PATCH after the edit = %d, remaining %q %s; want 200, 1 (edits are not counted)", p.status, p.header.Get("X-Ratelimit-Remaining"), p.body)
		}
		if c, u, _ := e.srv.Timestamps("a"); !u.Equal(noon().Add(7*time.Minute)) || !c.Equal(noon().Add(-2*time.Second)) {
			t.Errorf("Timestamps(a) = %v, %v; want 11:59:58, 12:07:00", c, u)
		}
		if c, _ := e.srv.Customer("a"); c.Email != "ann@example.com" || c.PhoneNumber != "" || c.BillingAddress.City != "Abuja" {
			t.Errorf("a = %+v; want the old email back, the edit's phone and address kept", c)
		}
		// Sent again with nothing in between: that is a duplicate.
		if p := e.patch("a", `{"email":"ann@example.com","first_name":"Ann"}`, nil); p.status != 200 {
			t.Fatalf("PATCH again = %d %s", p.status, p.body)
		}
	})
	t.Run("stats", func(t *testing.T) {
		st := e.stats()
		if st.Edits != 4 || st.AppliedUpdates != 3 || st.DuplicateApplications != 1 || st.Reads != 3 ||
			!cmp.Equal(st.RequestsByStatus, map[int]int{200: 3}) {
			t.Errorf("stats = %+v; want 4 edits (not the refused one), 3 applied updates, 1 duplicate, 3 reads, PATCH statuses {200:3}", st)
		}
	})
}
