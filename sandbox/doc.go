// Package sandbox is a local, in-memory stand-in for the customer update API
// (PATCH /customers/{id}) with its documented rules: bearer auth, request
// validation, partial updates, per-key rate limits, Idempotency-Key replay,
// and fault injection. It exists so juicebatch can be rehearsed and tested
// end to end over real HTTP without touching production or its quota, and so
// its stats can prove what the client did (how many updates were applied
// twice, how many requests were wasted on 429s).
//
// It imports nothing of the pipeline. [New] returns a [Server], an
// [http.Handler] that is safe for concurrent use; serve it with
// httptest.NewServer or an http.Server. Every option's zero value is a
// default (see [Options]); only Keys is required. New's errors name the
// option at fault and never contain an API key. Time comes from
// Options.Clock, so tests drive limits, expiry and latency with a fake clock.
//
// # Routes
//
//   - PATCH /customers/{id} updates a customer (rules below).
//   - GET /customers/{id} answers {"data": record}. Same auth as PATCH; it is
//     not counted against the PATCH limits, gets no latency, and is not in
//     the stats.
//   - GET /_sandbox/stats answers [Stats] as JSON, without auth.
//   - Another method on those paths is 405 (with Allow). Any other path is
//     404 route_not_found, and so is a path with more than one segment after
//     /customers/ (".../customers/a/b", a trailing slash): it is never a
//     customer lookup. The segment is split before it is unescaped, so
//     "a%2Fb" is one segment, the id "a/b", which is a 400.
//
// # Order of checks for PATCH /customers/{id}
//
//  1. Auth: "Authorization: Bearer KEY" with one of Options.Keys, else 401
//     unauthorized. A 401 is not counted against any limit.
//  2. Rate limits of that API key, else 429 rate_limited, not counted.
//  3. Request checks, in this order: id matches ^[A-Za-z0-9_-]{1,64}$ (400
//     invalid_id); Content-Type is application/json, parameters allowed,
//     a charset only utf-8 (415); Accept, when present, allows
//     application/json;version=1 (406); Idempotency-Key, when present, is at
//     most 255 printable ASCII characters without spaces (400); body at most
//     1 MiB (413); body is non-empty, UTF-8, one JSON value (400 invalid_json);
//     it is an object with valid fields (422 validation_error); the customer
//     exists unless Options.CreateUnknown (404 not_found).
//  4. Idempotency, when an Idempotency-Key is sent: a stored answer for the
//     same request is replayed; the key used with another request is 422
//     idempotency_key_reused; the same request still in flight is 409
//     idempotency_conflict.
//  5. Latency (Options.Latency), while the request holds its key in flight.
//  6. Fault: with probability FailRate, 503 service_unavailable. Nothing is
//     applied and nothing is stored under the key.
//  7. Apply (email uniqueness is checked here, atomically with the update,
//     so a 422 for a taken email is a stored, final answer).
//  8. Store the answer under the key.
//  9. Fault: with probability DropAfterApply (only after a successful apply),
//     close the connection without answering.
//
// Every authenticated PATCH that is not a 429 counts against both limits:
// validation errors, 409s, 503s and replays included. Answers that stop
// before step 5 also wait Options.Latency before they are written, so every
// PATCH answer is delayed by it exactly once. A client that goes away during
// the wait gets nothing, and an update it was waiting for is not applied.
//
// # Rate limits
//
// Per API key. Minute: a request at time t is over the limit when PerMinute
// counted requests have times in (t-60s, t]. Day: PerDay counted requests in
// the current UTC calendar day. A 429 carries Retry-After (whole seconds,
// rounded up, at least 1, until the request would be allowed under both
// limits) and the same number as "retry_after" in the error object, plus
// X-RateLimit-Limit (the limit that was hit), X-RateLimit-Remaining: 0 and
// X-RateLimit-Reset (Unix seconds, rounded up, when it would be allowed).
//
// Counted answers carry, for the minute window after counting the request:
// X-RateLimit-Limit (PerMinute), X-RateLimit-Remaining (PerMinute minus the
// counted requests in the window) and X-RateLimit-Reset (Unix seconds,
// rounded up, when the oldest request in the window leaves it, freeing a
// slot). The day's remainder is not reported in headers.
//
// # Idempotency
//
// Answers are stored per (API key, Idempotency-Key) for 24 h by the clock,
// counted from when the answer was stored. A request matches a stored one
// when its fingerprint does: method, path, and the canonical JSON of the
// body (decoded and re-encoded with keys sorted, so key order and white
// space do not matter). Final answers are stored: 2xx and 4xx other than
// 409 and 429; never 5xx. A replay answers the stored status and body with
// "Idempotent-Replayed: true" and the original X-Request-Id (the one inside
// a stored error body), applies nothing, and counts in Stats.Replays. A
// request whose checks fail before step 4 (401, 429, 400, 404, 406, 413,
// 415, 422) never touches the key.
//
// Concurrent requests with the same key and body apply at most once: the
// first holds the key in flight; the others get 409 until its answer is
// stored, then replays.
//
// Stats.DuplicateApplications counts, for each (customer id, canonical body)
// applied more than once (under different keys, no key, or a key whose 24 h
// were over), the applications after the first.
//
// # Update rules
//
// The body is an object with any of first_name, last_name, email,
// phone_number, billing_address. Any other key, or a value of the wrong type,
// is 422 naming the field in details. null leaves a field alone; "" clears
// it (for billing_address, "" removes the address: the record shows null).
// A body with no non-null field ({} or all nulls) is 422. Values:
//
//   - first_name, last_name: any string. The provider's name rule (at most
//     100 letters, spaces, hyphens and apostrophes) is the creation
//     endpoint's (POST /customers); the update endpoint states none, so
//     the sandbox applies it only to --customers seed records.
//   - email: a bare address that net/mail accepts unchanged, unique among
//     the customers (compared case-insensitively).
//   - phone_number: E.164, ^\+[1-9][0-9]{1,14}$.
//   - billing_address: replaces the whole object; all six keys (line1,
//     line2, city, state, zip_code, country) must be present as strings (a
//     null counts as missing; the missing ones are listed under
//     details.billing_address); line1, city and country must not be empty;
//     country is two upper-case letters; any other key is an unknown field.
//
// A 200 answers {"data": <full record>}.
//
// # Errors
//
// Every error uses the provider's envelope:
//
//	{"error": {"code": "validation_error", "message": "...", "type": "invalid_request_error",
//	           "details": {"email": ["must be a valid email address"]},
//	           "request_id": "req_..."}}
//
// details appears for field errors; a 429 adds "retry_after". Codes:
// unauthorized, rate_limited, invalid_id, unsupported_media_type,
// not_acceptable, invalid_idempotency_key, payload_too_large, invalid_json,
// invalid_body, validation_error, not_found, route_not_found,
// method_not_allowed, idempotency_key_reused, idempotency_conflict,
// service_unavailable. Types: authentication_error (401), rate_limit_error
// (429), api_error (503), invalid_request_error (the rest). Every response,
// success or not, has an X-Request-Id header; ids come from Options.Seed.
//
// # Caveats
//
// State lives in memory and is lost with the Server. API keys are never
// logged or echoed: logs name a key by its position ("key#1"). Fault rolls
// and request ids are reproducible for a given Seed and order of requests;
// concurrent requests may take them in any order.
package sandbox
