package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// defaultTestURL is the server CI starts: local, trust auth.
const defaultTestURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

func testURL() string {
	if u := os.Getenv("APISESSIONS_TEST_POSTGRES"); u != "" {
		return u
	}
	return defaultTestURL
}

// withSearchPath adds search_path to a connection string in URL or
// key=value form; pgx sends it as a run-time parameter at connect.
func withSearchPath(conn, schema string) string {
	if strings.Contains(conn, "://") {
		u, err := url.Parse(conn)
		if err == nil {
			q := u.Query()
			q.Set("search_path", schema)
			u.RawQuery = q.Encode()
			return u.String()
		}
	}
	return conn + " search_path=" + schema
}

// mustAdmin connects to the test server, or fails the test with a clear
// message (skips under -short) when it does not answer.
func mustAdmin(tb testing.TB) *pgx.Conn {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, testURL())
	if err != nil {
		msg := "PostgreSQL test server does not answer (URL from APISESSIONS_TEST_POSTGRES, default " +
			defaultTestURL + "; CI starts it): %v"
		if testing.Short() {
			tb.Skipf(msg, err)
		}
		tb.Fatalf(msg, err)
	}
	return c
}

// mustSchema creates a uniquely named schema that is dropped at cleanup,
// and returns the connection string that selects it, so that tests run in
// parallel and repeatedly on one database.
func mustSchema(tb testing.TB) string {
	tb.Helper()
	admin := mustAdmin(tb)
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "apisessions_test_" + hex.EncodeToString(b[:])
	if _, err := admin.Exec(context.Background(), "CREATE SCHEMA "+schema); err != nil {
		admin.Close(context.Background())
		tb.Fatalf("create schema: %v", err)
	}
	tb.Cleanup(func() {
		ctx := context.Background()
		if _, err := admin.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
		}
		admin.Close(ctx)
	})
	return withSearchPath(testURL(), schema)
}

// MustOpen opens a Store on a fresh schema of the test server, closed at
// cleanup.
func MustOpen(tb testing.TB) *Store {
	tb.Helper()
	return mustOpenAt(tb, mustSchema(tb))
}

func mustOpenAt(tb testing.TB, conn string) *Store {
	tb.Helper()
	return mustOpenWith(tb, conn, DefaultOptions())
}

// mustOpenWith opens a Store with opts (its logger discarded), closed at
// cleanup.
func mustOpenWith(tb testing.TB, conn string, opts Options) *Store {
	tb.Helper()
	opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	s, err := Open(context.Background(), conn, opts)
	if err != nil {
		tb.Fatalf("open: %v", err)
	}
	// Registered after the schema's cleanup, so it runs before it.
	tb.Cleanup(func() { s.Close() })
	return s
}
