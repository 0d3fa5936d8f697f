package sandbox

import (
	"bytes"
	"encoding/json"
	"net/http"
)

// Error types of the provider's envelope.
const (
	typeAuth      = "authentication_error"
	typeInvalid   = "invalid_request_error"
	typeRateLimit = "rate_limit_error"
	typeAPI       = "api_error"
)

// apiError is one error answer before it gets its request id.
type apiError struct {
	status     int
	code       string
	message    string
	typ        string
	details    fieldErrors
	retryAfter int // seconds; only for 429
}

// envelope is the provider's published error shape.
type envelope struct {
	Error envelopeError `json:"error"`
}

type envelopeError struct {
	Code       string              `json:"code"`
	Message    string              `json:"message"`
	Type       string              `json:"type"`
	Details    map[string][]string `json:"details,omitempty"`
	RetryAfter int                 `json:"retry_after,omitempty"`
	RequestID  string              `json:"request_id"`
}

// body renders e in the envelope with the given request id.
func (e *apiError) body(requestID string) []byte {
	return mustJSON(envelope{Error: envelopeError{
		Code:       e.code,
		Message:    e.message,
		Type:       e.typ,
		Details:    e.details,
		RetryAfter: e.retryAfter,
		RequestID:  requestID,
	}})
}

// validationError is a 422 naming every field at fault.
func validationError(fe fieldErrors) *apiError {
	return &apiError{
		status:  http.StatusUnprocessableEntity,
		code:    "validation_error",
		message: "Validation failed: " + fe.summary(),
		typ:     typeInvalid,
		details: fe,
	}
}

// fieldError is a 422 for one field and one reason.
func fieldError(field, reason string) *apiError {
	return validationError(fieldErrors{field: {reason}})
}

func errRouteNotFound() *apiError {
	return &apiError{status: http.StatusNotFound, code: "route_not_found",
		message: "No route matches this path; the API serves /customers/{id}", typ: typeInvalid}
}

func errMethod(allow string) *apiError {
	return &apiError{status: http.StatusMethodNotAllowed, code: "method_not_allowed",
		message: "Method not allowed here; allowed: " + allow, typ: typeInvalid}
}

func errNotFound() *apiError {
	return &apiError{status: http.StatusNotFound, code: "not_found",
		message: "Customer not found", typ: typeInvalid}
}

func errInvalidID() *apiError {
	return &apiError{status: http.StatusBadRequest, code: "invalid_id",
		message: "Customer id " + reasonID, typ: typeInvalid,
		details: fieldErrors{"id": {reasonID}}}
}

// mustJSON encodes v without HTML escaping and with a trailing newline. The
// values passed are built here and always encode.
func mustJSON(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic("sandbox: encode answer: " + err.Error())
	}
	return buf.Bytes()
}
