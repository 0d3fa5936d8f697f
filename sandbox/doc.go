// Package sandbox is a local, in-memory stand-in for the customer update API
// (PATCH /customers/{id}) with its documented rules: bearer auth, request
// validation, partial updates, per-key rate limits, Idempotency-Key replay,
// and fault injection; and for the provider's read endpoints
// (GET /customers, GET /customers/{id}) with their own hourly limit. It exists so juicebatch can be rehearsed and tested
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
//   - GET /customers lists customers a page at a time; GET /customers/{id}
//     answers {"data": record}. See Reads. They are not counted against the
//     PATCH limits and get no latency.
//   - POST /_sandbox/edit changes a customer as the provider's own app
//     would, from loopback only, without auth. See Edits.
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
// A 200 answers {"data": <full record>} in the update endpoint's own shape:
// "" for an empty string field, null for no address, no created_at or
// updated_at. (The read endpoints show records their way; see Reads.)
//
// # Reads
//
// Checks, in this order, for GET /customers and GET /customers/{id}:
//
//  1. Auth, as for PATCH (401, not counted).
//  2. The read limit of that API key (429, not counted; see below).
//  3. For GET /customers/{id}: the id (400 invalid_id). Then Accept, as for
//     PATCH (406). Then the query (400 invalid_parameter, naming each
//     parameter at fault in details): an unknown or repeated parameter, a
//     malformed query, or a bad value. Then, for GET /customers/{id}, the
//     customer (404 not_found, "Customer not found"; for a list, a cursor
//     naming no customer is a 400 naming after or before).
//
// A record as both endpoints show it has the fields id, first_name,
// last_name, email, phone_number, billing_address (its six keys), created_at
// and updated_at, in that order. An empty value is null, an empty address
// line too ("line2": null), and so is a missing address. created_at and
// updated_at are RFC 3339 in UTC, with a fraction of a second only when
// there is one. The customers given to [New] are created in their order,
// one second apart, the last one second before the clock's time at New
// (truncated to the second), so the created_at order is the load order and
// no two are alike. A customer created by a PATCH (Options.CreateUnknown)
// gets the clock's time, or one nanosecond after the newest customer when
// the clock has not moved past it. updated_at starts as created_at and
// becomes the clock's time whenever a PATCH or an edit changes a value; a
// PATCH that sets what the record already holds leaves it alone.
//
// GET /customers/{id} takes fields= (a comma-separated list of the field
// names above; white space around a name is ignored): the record then has
// only those fields, and always id. An unknown name is a 400.
//
// GET /customers takes:
//
//   - limit: records per page, 1 to 100, default 15 (0, 101, "ten" are 400).
//   - sort: created_at:desc (the default) or created_at:asc.
//   - after=ID: the page of records that follow that record in the sort
//     order; before=ID: the page of records that precede it, nearest it
//     first in the sort order's sense (the previous page). Not both. ID is
//     any customer's id (it need not match the filters); the page is taken
//     by its created_at.
//   - email: only the customer with this email (compared
//     case-insensitively, as uniqueness is).
//   - created_after, created_before: only customers created strictly after
//     or strictly before the instant, an RFC 3339 date-time (fraction and
//     offset allowed; a + in an offset must be sent as %2B) or a date
//     (2026-11-27, its midnight UTC).
//
// It answers {"data": [records], "pagination": {"before": ..., "after": ...,
// "limit": n}}: after is the id of the page's last record when more records
// (under the same filters) follow it in the sort order, else null; before
// is the id of the page's first record when records precede it, else null.
// So a client walks all customers by following after until it is null:
// ceil(N/100) requests with limit=100. Records are kept in created_at
// order, so a page costs two binary searches and the page itself, however
// many customers there are.
//
// The read limit is a sliding hour per API key, Options.ReadsPerHour
// (default 1000), apart from the update limits: reads never count against
// PATCH's minute or day, and PATCHes never against the reads. A read at
// time t is over the limit when ReadsPerHour counted reads have times in
// (t-1h, t]. Every authenticated read that is not a 429 counts, whatever
// its status. Every read answer to a valid key carries X-RateLimit-Limit
// (ReadsPerHour), X-RateLimit-Remaining (after counting this request) and
// X-RateLimit-Reset (Unix seconds, rounded up, when the oldest counted read
// leaves the window and frees a slot). A 429 carries Retry-After (whole
// seconds, rounded up, at least 1, until a read would be allowed), the
// same number as "retry_after", X-RateLimit-Remaining: 0 and
// X-RateLimit-Reset at that instant.
//
// In [Stats]: Reads counts the reads that counted against the limit (every
// answer to a valid key except 429s), ReadsRateLimited the read 429s, and
// ReadsByStatus every read answer by status, 401s included. Reads are not
// in RequestsByStatus, RateLimited or AppliedUpdates.
//
// # Edits
//
// POST /_sandbox/edit changes one customer as the provider's own app would,
// behind the client's back, so tests can make records drift:
//
//	{"id": "c-1", "set": {"email": "new@example.com", "phone_number": null,
//	                      "billing_address": {"line1": "1 Rd", "city": "Lagos", "country": "NG"}}}
//
// set names the fields to change, at least one: first_name, last_name,
// email, phone_number (a string; "" or null clears the field) and
// billing_address (an object replaces the whole address, a missing or null
// key being empty; "" or null removes the address). Values follow the seed
// rules of [LoadCustomers]: names of letters, spaces, hyphens and
// apostrophes, a valid email not used by another customer, E.164 phone, a
// two-letter upper-case country. The answer is 200 {"data": record as GET
// shows it, "changed": true|false}; errors: 403 forbidden (the client is
// not on loopback), 400 invalid_json, 413, 422 validation_error (details
// name "id", "set", "set.email", "set.billing_address.country", ...), 404
// not_found. Any other method is 405.
//
// An edit takes no API key and counts against no limit; it is neither an
// update request (not in RequestsByStatus or AppliedUpdates) nor a read; it
// counts in Stats.Edits. One that changes a value moves updated_at to the
// clock's time, and a later PATCH is compared with the edited values. It
// also ends duplicate detection for that customer's earlier updates: a
// body applied before the edit and again after it (putting a value back)
// is not a duplicate application. Stored Idempotency-Key answers are kept:
// a replay still answers what was answered then.
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
// unauthorized, rate_limited, invalid_id, invalid_parameter, forbidden,
// unsupported_media_type,
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
