// Package live answers two questions for the pipeline: what does the server
// hold for a customer, and would an update change it?
//
// It owns the read side of the API — GET /customers (paged, sorted by
// created_at ascending, following the "after" cursor) and GET
// /customers/{id} — with its own pace (the read limit, 1000 an hour per key,
// is apart from the update limits), its own retries, and respect for 429
// answers and the X-RateLimit-* headers; the choice between listing pages
// and single reads ([Choose]); and the comparison of an update with a live
// record by the API's rules ([Diff]): billing_address compared whole, null
// and "" the same value, live values put through the tool's own
// normalization before they are compared.
//
// It builds on batch/api (the HTTP client, its headers and error shapes),
// batch/normalize (the update body) and ratelimit (the pacer). It must not
// import batch, checkpoint or report: batch decides what a read means for a
// row and records it, the way it uses checkpoint.
//
// A [Reader] is safe for concurrent use; its requests are released one at a
// time by its pacer. The zero values of the types here are not usable
// unless their doc says so.
package live
