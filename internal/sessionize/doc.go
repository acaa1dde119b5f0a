// Package sessionize turns an exchange into its export record: which session
// it belongs to, its context, and what of it may leave the node. SPEC §4–§6
// is the reference; this comment records what the spec leaves open.
//
// # Grouping
//
// Configured group: true parameters are tried in order, then the built-in
// set: Authorization (JWT sid, else sub; an opaque bearer token; the Basic or
// Digest user name, never the password; another scheme's credentials as an
// opaque token), the session headers, the session cookies (in SPEC's order
// of names, whatever their order in the header), the same cookies in the
// response Set-Cookie (a Set-Cookie that deletes the cookie, by Max-Age <= 0
// or a past Expires, opens nothing), then client IP + User-Agent, or the IP
// alone. The first non-empty value wins. The session ID is the lowercase hex
// HMAC-SHA256 of that raw value under the tenant secret, whichever key
// produced it; the fallback's value is "IP User-Agent" (one space) and its
// Key.Point "request.ip+request.header.User-Agent" (the only key point that
// is not a point of the grammar), or "request.ip" without a User-Agent.
//
// Exported key values: configured keys as configured (hashed with hash:
// true), built-in Authorization, header and cookie keys always hashed with
// the tenant's hash_algorithm, the fallback as is. hmac-sha256 hashes use
// the session secret as key, so a hashed grouping key's exported value then
// equals the session ID.
//
// # Request ID, day, client IP, scope
//
// An exchange without ID gets the first 128 bits, in hex, of an HMAC under
// the session secret over its time, peer address, method, URL, request
// headers and body: stable across re-imports, and not brute-forceable back
// to a password in the body as a plain hash would be. The day is the
// calendar day of the exchange time in day_timezone (time zone data is
// embedded). The client IP is the peer, unless the peer is in
// trusted_proxies: then X-Forwarded-For (repeated headers joined) is walked
// from the right past trusted addresses to the first untrusted one (an entry
// that does not parse stops the walk at the last good hop), else X-Real-IP.
// request.ip points see that resolved address. Hosts match applications
// and analyze.hosts case-insensitively without port; '*' stands for any
// characters. An application with mode off, or a request outside a
// non-empty analyze scope (host pattern or application ID), is OutOfScope;
// otherwise one older than retention before Now is TooOld. Neither fills
// the record.
//
// # Parameters, user, role, flows
//
// Every configured parameter present (first non-empty value) is exported:
// "***" when a mask rule covers its point or its value is or holds a masked
// value; hashed when hash: true (md5 or hmac-sha256, lowercase hex); "***"
// when, unhashed, it is or holds the raw value of a hashed parameter or of a
// credential key (a token, session header or cookie: not a user name or JWT
// claim). User and role are the first exported values of user and role
// parameters in configured order. Param.Point and Key.Point are written in
// the canonical form of the point grammar (header names in MIME case).
//
// Flows, each once, in this order: context parameters present (named by the
// parameter), flows rules (method optional, case-insensitive; path pattern
// with '*' over the path without query, case-sensitive), then SPEC's default
// keyword rules. Keywords match path words: a segment splits into words on
// - _ . ~ + , ; = @ % at lower-to-upper case changes and between letters and
// digits; a keyword matches a word, or two adjacent words of a segment
// written together ("sign-up"), that starts with it, ignoring case. Added to
// SPEC's keywords: oauth, signin (Auth), registration (Account creation),
// subscribe (Billing); author(s) and payload(s) never match.
//
// # Endpoints
//
// See Endpoint: {int}, {uuid}, {hex} (16+ hex digits) and {token} (20+
// base64url characters with a digit, an upper- and a lower-case letter);
// lower-case slugs, versions and file names are kept.
//
// # Masking
//
// Finding payloads and the content of malicious requests are masked by
// structure and by value; see mask.go. Values shorter than 4 bytes are
// replaced only where they are a whole value. Content bodies are kept up to
// Options.ContentBodyLimit (64 KiB), cut at a rune boundary, base64 when not
// UTF-8. JSON and form bodies are rewritten (JSON key order kept, bodies up
// to 1 MiB); other bodies, and JSON that does not parse, are masked by
// pattern. Multipart and XML bodies get value and pattern masking only.
// A body sent with a Content-Encoding is stored as "***": compressed, its
// fields cannot be masked, and it would decompress back to them.
//
// A protected point (mask rule, hashed parameter) read through decoders
// protects its containers too, the inputs of its decoders: the JWT of
// "request.header.X|jwt.sub", the data field of
// "request.body|json.data|base64|json.token". See protect.go. An unhashed
// grouping key that is or holds a protected value is exported hashed. The
// protected points that read into the request body are read back from the
// stored body; when one still yields its value (a value under 4 bytes in a
// multipart, XML or GraphQL body), the body is stored as "***".
//
// The client IP, host, User-Agent and path are exported as sent, unless a
// protected value shows there (request.ip, request.host,
// request.header.User-Agent, request.path, request.url): then they carry
// the parameter's hash when they are a hashed parameter's raw value, else
// "***", and the IP + User-Agent key is exported hashed. request.method and
// response.status cannot be hashed or masked (New refuses it): every record
// keeps them, and their few values would hide nothing.
package sessionize
