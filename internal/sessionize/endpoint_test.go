package sessionize

import (
	"strings"
	"testing"
)

func TestEndpoint(t *testing.T) {
	tests := []struct {
		method, path, want string
	}{
		{"GET", "/api/users/42", "GET /api/users/{int}"},
		{"get", "/api/users/42/orders/7", "GET /api/users/{int}/orders/{int}"},
		{"GET", "/api/users/42?token=abc", "GET /api/users/{int}"},
		{"GET", "", "GET /"},
		{"GET", "/", "GET /"},
		{"DELETE", "/api/items/550e8400-e29b-41d4-a716-446655440000", "DELETE /api/items/{uuid}"},
		{"DELETE", "/api/items/550E8400-E29B-41D4-A716-446655440000/", "DELETE /api/items/{uuid}/"},
		{"GET", "/objects/507f1f77bcf86cd799439011", "GET /objects/{hex}"},
		{"GET", "/commits/da39a3ee5e6b4b0d3255bfef95601890afd80709", "GET /commits/{hex}"},
		{"GET", "/hex/deadbeef12", "GET /hex/deadbeef12"},                 // short hex: kept
		{"GET", "/files/acceptedfeedback", "GET /files/acceptedfeedback"}, // no digit
		{"GET", "/reset/Xk9fPq2LmN3oRt7uVw1Yz", "GET /reset/{token}"},
		{"GET", "/reset/dGhpcyBpcyBhIHRva2VuIQ==", "GET /reset/{token}"},
		{"GET", "/magic/eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln", "GET /magic/{token}"},
		{"GET", "/docs/MyDocument_Final2024.pdf", "GET /docs/MyDocument_Final2024.pdf"},
		{"GET", "/blog/my-first-post-in-2024-edition", "GET /blog/my-first-post-in-2024-edition"}, // lower-case slug
		{"GET", "/api/v1/items", "GET /api/v1/items"},
		{"GET", "/img/logo2x.png", "GET /img/logo2x.png"},
		{"GET", "//double//42", "GET //double//{int}"},
		{"GET", "/a/-1", "GET /a/-1"},
	}
	for _, tc := range tests {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			if got := Endpoint(tc.method, tc.path); got != tc.want {
				t.Errorf("Endpoint(%q, %q) = %q, want %q", tc.method, tc.path, got, tc.want)
			}
		})
	}
}

// FuzzEndpoint: no panic, the method and slashes survive, no query.
func FuzzEndpoint(f *testing.F) {
	for _, p := range []string{"/api/users/42", "/api/items/550e8400-e29b-41d4-a716-446655440000", "/objects/507f1f77bcf86cd799439011",
		"/reset/Xk9fPq2LmN3oRt7uVw1Yz", "", "/?q=1", "//", "/a#b", "/\xff/12"} {
		f.Add("GET", p)
	}
	f.Fuzz(func(t *testing.T, method, path string) {
		got := Endpoint(method, path)
		m := strings.ToUpper(method)
		if !strings.HasPrefix(got, m+" ") {
			t.Fatalf("Endpoint(%q, %q) = %q: method lost", method, path, got)
		}
		rest := got[len(m)+1:]
		p := path
		if i := strings.IndexAny(p, "?#"); i >= 0 {
			p = p[:i]
		}
		if p == "" {
			p = "/"
		}
		if strings.Count(rest, "/") != strings.Count(p, "/") {
			t.Fatalf("Endpoint(%q) = %q: segments changed", path, got)
		}
		if Endpoint(method, p) != got {
			t.Fatalf("query changed the endpoint of %q", path)
		}
	})
}
