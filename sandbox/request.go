package sandbox

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"
)

// maxBody is the largest PATCH body accepted.
const maxBody = 1 << 20

// maxIdempotencyKey is the longest Idempotency-Key accepted.
const maxIdempotencyKey = 255

// update is a validated PATCH body. A nil pointer leaves its field alone;
// a pointer to "" clears it.
type update struct {
	firstName, lastName, email, phone *string
	address                           *Address // replaces the whole address
	clearAddress                      bool     // billing_address: ""
}

// patchRequest is a PATCH that passed the request checks.
type patchRequest struct {
	id          string
	upd         update
	canonical   []byte   // the body, decoded and re-encoded with sorted keys
	fingerprint [32]byte // method, path and canonical body
	idemKey     string   // "" when the request carries none
}

// parseID turns the escaped path segment after /customers/ into an id.
func parseID(seg string) (string, *apiError) {
	id, err := url.PathUnescape(seg)
	if err != nil || !ValidID(id) {
		return "", errInvalidID()
	}
	return id, nil
}

// checkContentType answers 415 unless the body is declared as JSON.
func checkContentType(h http.Header) *apiError {
	ct := h.Get("Content-Type")
	mt, params, err := mime.ParseMediaType(ct)
	if err == nil && mt == "application/json" {
		if cs, ok := params["charset"]; !ok || strings.EqualFold(cs, "utf-8") {
			return nil
		}
	}
	return &apiError{status: http.StatusUnsupportedMediaType, code: "unsupported_media_type",
		message: "Content-Type must be application/json", typ: typeInvalid}
}

// checkAccept answers 406 when an Accept header is present and no range in
// it allows application/json;version=1. A range with q=0 allows nothing; a
// range carrying a version parameter must say 1.
func checkAccept(h http.Header) *apiError {
	values := h.Values("Accept")
	if strings.TrimSpace(strings.Join(values, "")) == "" {
		return nil
	}
	for _, v := range values {
		for _, rng := range strings.Split(v, ",") {
			if acceptable(rng) {
				return nil
			}
		}
	}
	return &apiError{status: http.StatusNotAcceptable, code: "not_acceptable",
		message: "Accept must allow application/json;version=1", typ: typeInvalid}
}

func acceptable(rng string) bool {
	mt, params, err := mime.ParseMediaType(strings.TrimSpace(rng))
	if err != nil {
		return false
	}
	switch mt {
	case "application/json", "application/*", "*/*":
	default:
		return false
	}
	if q, ok := params["q"]; ok {
		if q = strings.TrimRight(strings.TrimSpace(q), "0."); q == "" {
			return false // q=0, q=0.0, q=0.000
		}
	}
	if v, ok := params["version"]; ok && v != "1" {
		return false
	}
	return true
}

// checkIdempotencyKey answers 400 for a key that is too long or not
// printable ASCII. An absent or empty header means no key.
func checkIdempotencyKey(k string) *apiError {
	ok := len(k) <= maxIdempotencyKey
	for i := 0; ok && i < len(k); i++ {
		ok = k[i] > ' ' && k[i] < 0x7f
	}
	if ok {
		return nil
	}
	return &apiError{status: http.StatusBadRequest, code: "invalid_idempotency_key",
		message: fmt.Sprintf("Idempotency-Key must be 1 to %d printable ASCII characters without spaces", maxIdempotencyKey),
		typ:     typeInvalid}
}

// readBody reads at most maxBody bytes; more is 413.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, *apiError) {
	tooLarge := &apiError{status: http.StatusRequestEntityTooLarge, code: "payload_too_large",
		message: fmt.Sprintf("Request body is larger than %d bytes", maxBody), typ: typeInvalid}
	if r.ContentLength > maxBody {
		return nil, tooLarge
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return nil, tooLarge
	case err != nil:
		return nil, &apiError{status: http.StatusBadRequest, code: "invalid_body",
			message: "Could not read the request body", typ: typeInvalid}
	}
	return body, nil
}

func errInvalidJSON(msg string) *apiError {
	return &apiError{status: http.StatusBadRequest, code: "invalid_json", message: msg, typ: typeInvalid}
}

// parseUpdate decodes and validates a PATCH body. It returns the update and
// the canonical form of the body: the same JSON value re-encoded with keys
// sorted and no white space, so key order and spacing do not matter.
func parseUpdate(body []byte) (update, []byte, *apiError) {
	if len(bytes.TrimSpace(body)) == 0 {
		return update{}, nil, errInvalidJSON("Request body is empty; send a JSON object")
	}
	if !utf8.Valid(body) {
		return update{}, nil, errInvalidJSON("Request body is not valid UTF-8")
	}
	var v any
	if err := decodeOne(body, &v); err != nil {
		return update{}, nil, errInvalidJSON("Request body is not valid JSON: " + err.Error())
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return update{}, nil, &apiError{status: http.StatusUnprocessableEntity, code: "validation_error",
			message: "Request body must be a JSON object", typ: typeInvalid}
	}
	canonical, err := json.Marshal(obj) // map keys come out sorted
	if err != nil {
		return update{}, nil, errInvalidJSON("Request body is not valid JSON: " + err.Error())
	}

	var u update
	fe := fieldErrors{}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		val := obj[k]
		switch k {
		case "first_name", "last_name", "email", "phone_number":
			if val == nil {
				continue // null is ignored
			}
			s, ok := val.(string)
			if !ok {
				fe.add(k, "must be a string or null")
				continue
			}
			if s != "" {
				if reason := checkString(k, s); reason != "" {
					fe.add(k, reason)
					continue
				}
			}
			switch k {
			case "first_name":
				u.firstName = &s
			case "last_name":
				u.lastName = &s
			case "email":
				u.email = &s
			case "phone_number":
				u.phone = &s
			}
		case "billing_address":
			switch a := val.(type) {
			case nil:
			case string:
				if a != "" {
					fe.add(k, "must be an object, \"\" (clears it) or null")
					continue
				}
				u.clearAddress = true
			case map[string]any:
				u.address = parseAddress(a, fe)
			default:
				fe.add(k, "must be an object, \"\" (clears it) or null")
			}
		default:
			fe.add(k, reasonUnknown)
		}
	}
	if len(fe) > 0 {
		return update{}, nil, validationError(fe)
	}
	if u == (update{}) {
		return update{}, nil, &apiError{status: http.StatusUnprocessableEntity, code: "validation_error",
			message: "Request body must set at least one field; null values are ignored", typ: typeInvalid}
	}
	return u, canonical, nil
}

// checkString returns why a non-empty value of a string field is invalid.
// Names are not checked: the update endpoint documents no rule for them
// (the name rule is the creation endpoint's, POST /customers; see
// spec/published-api-notes.md), so an update takes any string.
func checkString(field, s string) string {
	switch field {
	case "email":
		return checkEmail(s)
	case "phone_number":
		return checkPhone(s)
	}
	return ""
}

// parseAddress validates a billing_address object, adding problems to fe.
// All six keys must be present as strings (null counts as missing); line1,
// city and country must not be empty.
func parseAddress(obj map[string]any, fe fieldErrors) *Address {
	extra := make([]string, 0)
	for k := range obj {
		if !slices.Contains(addressKeys(), k) {
			extra = append(extra, k)
		}
	}
	sort.Strings(extra)
	for _, k := range extra {
		fe.add("billing_address."+k, reasonUnknown)
	}
	a := &Address{}
	var missing []string
	for _, k := range addressKeys() {
		v := obj[k]
		if v == nil {
			missing = append(missing, k)
			continue
		}
		s, ok := v.(string)
		if !ok {
			fe.add("billing_address."+k, reasonString)
			continue
		}
		*a.field(k) = s
		switch {
		case s == "" && (k == "line1" || k == "city" || k == "country"):
			fe.add("billing_address."+k, reasonEmpty)
		case s != "" && k == "country":
			if r := checkCountry(s); r != "" {
				fe.add("billing_address."+k, r)
			}
		}
	}
	if len(missing) > 0 {
		fe.add("billing_address", "missing required fields: "+strings.Join(missing, ", ")+
			" (billing_address replaces the whole address, so all six keys are required)")
	}
	return a
}

// fingerprint identifies a request for idempotency: method, path and the
// canonical body.
func fingerprint(method, id string, canonical []byte) [32]byte {
	h := sha256.New()
	fmt.Fprintf(h, "%s /customers/%s\n", method, id)
	h.Write(canonical)
	var sum [32]byte
	h.Sum(sum[:0])
	return sum
}
