package httpapi

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apisessions/apisessions"
	"github.com/apisessions/apisessions/internal/sqlite"
)

// FuzzAddDeny: any body of POST /denylist is stored as a valid entry or
// refused as the caller's mistake, never an internal error or a panic.
func FuzzAddDeny(f *testing.F) {
	for _, tc := range denyCases {
		f.Add(tc.body)
	}
	admin, err := sqlite.Open(context.Background(), filepath.Join(f.TempDir(), "store.db"), sqlite.DefaultOptions())
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { admin.Close() })
	s := New(Options{Admin: admin, Now: func() time.Time { return testNow }})
	p := &principal{Tenant: "t", Role: apisessions.RoleAnalyst, Actor: "token:fuzz"}
	f.Fuzz(func(t *testing.T, body string) {
		r := httptest.NewRequest("POST", "/api/v1/denylist", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		err := s.handleAddDeny(w, r, p)
		switch code := apisessions.ErrorCode(err); {
		case err == nil:
			if w.Code != http.StatusCreated {
				t.Fatalf("status %d without error", w.Code)
			}
		case code == apisessions.EINVALID:
		default:
			var mbe *http.MaxBytesError
			if !errors.As(err, &mbe) {
				t.Fatalf("error %v (code %s) for %q", err, code, body)
			}
		}
	})
}

// FuzzResponseError: whatever a server (or a proxy before it) answers, the
// client makes an *apisessions.Error of it.
func FuzzResponseError(f *testing.F) {
	f.Add(404, `{"error":{"code":"not_found","message":"no such session","id":"1"}}`)
	f.Add(400, `{"error":{"code":"invalid","message":"m"},"problems":[{"path":"p","reason":"r"}]}`)
	f.Add(502, `<html>bad gateway</html>`)
	f.Add(500, `{"error":{"code":"internal","message":"internal error","id":"x"}}`)
	f.Fuzz(func(t *testing.T, status int, body string) {
		err := responseError(status, []byte(body))
		var ae *apisessions.Error
		if !errors.As(err, &ae) || ae.Code == "" || ae.Message == "" {
			t.Fatalf("got %#v", err)
		}
	})
}
