// Package point implements the parameter points of SPEC §3: a small
// grammar that names where a value lives in an HTTP exchange, its compiled
// form, a fast evaluator, and the listing of every point an exchange holds.
//
// # Grammar
//
//	point   := side "." source { step }
//	side    := "request" | "response"
//	source  := "method" | "host" | "path" | "url" | "ip"        ; request only
//	         | "status"                                         ; response only
//	         | "body" | ("header" | "cookie" | "query") name    ; query: request only
//	step    := name | "[" INDEX "]" | "|" decoder
//	name    := "." IDENT | "[" JSON-STRING "]"
//	decoder := json | form | multipart | xml | base64 | url | gzip | jwt | graphql
//
// IDENT is one or more of A-Z a-z 0-9 _ - $ @; any other name is written as
// a JSON string in brackets (`request.cookie["connect.sid"]`). INDEX is a
// decimal number up to 1,000,000. A point chains at most MaxChain (8)
// decoders. Parse compiles a point and reports a *SyntaxError naming the
// 1-based column and what was expected there ("column 16: expected a name
// after '.'"). Parse also refuses steps that cannot mean anything: a name
// after a plain value ("request.method.x"), "[N]" after a scalar source, a
// form or multipart decoder without a field name. String gives the
// canonical form (header names in canonical MIME case, names as IDENT when
// they can be), and Parse(p.String()) is p again.
//
// # Sources
//
//   - request.method, request.host (from an absolute URL, else the Host
//     header), request.ip (the client IP of the exchange).
//   - request.url is the origin-form request target ("/path?query"),
//     whatever form the URL was recorded in.
//   - request.path is the path without the query string, as sent;
//     request.path[N] is its N-th segment from 0 ("/api/users/42": [0] is
//     "api", [2] is "42").
//   - response.status is the status code in decimal.
//   - request.body and response.body are the bodies' content: a gzip or
//     deflate Content-Encoding is undone first (bounded by
//     DecompressedBytes), so "response.body|json.token" works on compressed
//     responses too. A point whose first step is "|gzip" reads the body as
//     sent ("response.body|gzip|json.token" works as well).
//   - header: every header of that name, case-insensitively, in order.
//   - cookie: request.cookie reads the Cookie headers, response.cookie the
//     Set-Cookie headers (name=value before the first ';'). Values as sent.
//   - query: the decoded query parameters ('+' is a space).
//
// # Values and indexes
//
// A point yields a list of values. Repeated headers, cookies, query and
// form names, multipart fields, XML elements and GraphQL fields all yield
// one value each, in exchange order; First returns the first non-empty one
// (what grouping uses) and Values all non-empty ones. "[N]" selects:
//
//   - the N-th path segment after request.path;
//   - the N-th element when the current value is one JSON array;
//   - otherwise the N-th of the current values, counting empty ones
//     ("request.query.id[1]" is the second id, "|xml.order.item[1]" the
//     second item).
//
// An absent, empty or undecodable point yields nothing; it never fails the
// exchange. JSON null yields nothing, numbers and booleans their text,
// objects and arrays their raw JSON text. A decoder applies to each current
// value.
//
// # Decoders
//
//   - json: members by name, elements by index. A duplicate key yields its
//     first value. Decoding builds a flat index of the document once per
//     exchange; values are substrings of the body unless they hold escapes.
//   - form: application/x-www-form-urlencoded; "|form.NAME" is required.
//   - multipart: multipart/form-data, the boundary read from the first
//     delimiter line. "|multipart.NAME" is a field's content, or a file
//     part's file name (file contents are never values).
//   - xml: names walk elements from the root element down
//     ("|xml.order.item.sku" for <order><item><sku>); an element's value is
//     the character data directly inside it, trimmed. Attributes are
//     addressed as names starting with '@' ("|xml.order.@id", or
//     `|xml.order["@id"]`). Names match the local name, or "prefix:local"
//     as written (`|xml.envelope["soap:Body"]`).
//   - base64: standard or URL alphabet, padded or not.
//   - url: percent-decoding ('+' stays '+'); a '%' without two hex digits
//     is kept as it is, as servers do, so attack payloads stay visible.
//   - gzip: gzip, zlib or raw deflate, detected from the data.
//   - jwt: a compact JWT, with or without a "Bearer " prefix; yields the
//     payload claims as JSON ("|jwt.sub"). The signature is not checked:
//     this is observation.
//   - graphql: a GraphQL request, either a JSON envelope ({"query",
//     "operationName", "variables"}; of a batch array the first entry) or a
//     bare document (application/graphql, or "request.query.query|graphql"
//     for GET). The operation is the one operationName names, else the
//     first. Addressing, after "|graphql":
//     .operation is "query", "mutation" or "subscription";
//     .name is the operation name;
//     .fields yields each selected field as a dot-joined path of field
//     names (aliases resolved to the field name; inline fragments add
//     their fields, named fragment spreads are not expanded), so
//     .fields[N] is the N-th in document order;
//     .args["FIELD.PATH.ARG"] is an argument of a field
//     (`|graphql.args["user.id"]`): strings unquoted, variables as "$name",
//     lists as written, object values flattened one name per key
//     (`args["signup.input.email"]`);
//     .variables walks the variables as JSON ("|graphql.variables.id").
//
// # Listing
//
// List calls a function with every point present in an exchange and its
// value, request before response; on each side: method, host, path, path
// segments, url, ip or status, query, headers, cookies, then the body,
// decoded by Content-Encoding ("response.body|gzip|json...") and
// Content-Type (JSON, form, multipart, XML,
// GraphQL; JSON to a path containing "graphql" is listed as GraphQL too; a
// body no decoder takes is listed raw). Values holding a JWT are listed as
// their claims too ("request.header.Authorization|jwt.sub"), values holding
// JSON as its members. The first value of a repeated name is listed bare,
// the N-th with "[N]", so every listed point evaluates back to its value.
//
// # Limits
//
// Limits (DefaultLimits) bound bodies parsed (1 MiB), decompressed bytes
// (8 MiB), JSON depth (64) and elements (100,000) — applied to XML and
// GraphQL as well —, decoder chains (8), points listed (10,000) and header
// bytes (64 KiB). Past a limit evaluation goes on with what fits: a body
// cut at the limit is decoded as far as it goes. Evaluator.Truncated and
// the result of List report it. Nothing panics, and memory stays bounded by
// the limits whatever the input.
//
// # Use
//
// An Evaluator is reused per goroutine:
//
//	e := point.NewEvaluator(point.DefaultLimits())
//	for ex := range exchanges {
//		e.Reset(ex)
//		user, ok := e.First(userPoint)
//		...
//	}
//
// A body is decoded at most once per exchange, and only when a point needs
// it.
package point
