// Package httpapi is the server's REST API under /api/v1: ingest of node
// batches, sessions and requests, configuration, the session denylist, nodes
// and node sync, console logins, plus /healthz, /readyz and /metrics.
//
// Every /api/v1 call is authenticated (a bearer token, or a console login
// cookie with its CSRF token for changes) and scoped to exactly one tenant:
// handlers read the tenant from the caller, never from the request. Routes
// live in one table (routes.go) that also generates the OpenAPI document;
// handlers return errors to one wrapper (handler.go), which maps codes to
// HTTP status in one function.
package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/apisessions/apisessions"
	"github.com/apisessions/apisessions/internal/wire"
)

// Options configure a Server. Store and Admin are required.
type Options struct {
	Store apisessions.Store
	Admin apisessions.AdminStore
	// Logger receives request errors; nil discards them.
	Logger *slog.Logger
	// Registerer receives the metrics; nil means a registry of the server's
	// own, served at /metrics.
	Registerer prometheus.Registerer
	// Gatherer serves /metrics; nil means Registerer when it is a
	// Gatherer too (a *prometheus.Registry).
	Gatherer prometheus.Gatherer
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// IngestLimits bound what a batch may hold; zero fields take
	// wire.DefaultLimits.
	IngestLimits wire.Limits
	// MaxBodyBytes bounds an ingest request body; 0 means
	// IngestLimits.MaxCompressed. Over it: 413.
	MaxBodyBytes int64
	// MaxConcurrentIngest bounds batches decoded at once: decoding one may
	// take up to about 4x IngestLimits.MaxDecompressed of memory, so this
	// is what bounds the server's ingest memory. Over it: 503 with
	// Retry-After, which nodes retry.
	MaxConcurrentIngest int
	// IngestWait is how long an ingest request waits for a slot before
	// it is answered 503.
	IngestWait time.Duration
	// MaxConcurrentLogins bounds password checks at once: bcrypt costs
	// tens of milliseconds of CPU, so unbounded logins are a cheap way to
	// stall the server.
	MaxConcurrentLogins int
	// PasswordCost is the bcrypt cost of the stored passwords (that of
	// HashPassword by default). Logins naming no user are checked against
	// a hash of this cost, so that they take as long as a wrong password.
	PasswordCost int
	// LoginTTL is how long a console login lasts.
	LoginTTL time.Duration
	// SecureCookies marks the login cookie Secure even on plain HTTP, for
	// servers behind a TLS-terminating proxy. Requests over TLS always
	// get Secure cookies.
	SecureCookies bool
	// Version is the server version, shown in the OpenAPI document.
	Version string
}

// DefaultOptions returns the options a server runs with unless configured
// otherwise; Store and Admin are left for the caller.
func DefaultOptions() Options {
	return Options{
		IngestLimits:        wire.DefaultLimits(),
		MaxConcurrentIngest: 4,
		IngestWait:          250 * time.Millisecond,
		MaxConcurrentLogins: 2,
		PasswordCost:        bcryptCost,
		LoginTTL:            12 * time.Hour,
		Version:             "dev",
	}
}

// Server serves the API. Build it with New; it is safe for concurrent use.
type Server struct {
	opts    Options
	store   apisessions.Store
	admin   apisessions.AdminStore
	log     *slog.Logger
	now     func() time.Time
	limits  wire.Limits
	maxBody int64
	metrics *metrics
	gather  prometheus.Gatherer
	// ingestSlots and loginSlots are semaphores: a buffered channel holds
	// a token per running request.
	ingestSlots chan struct{}
	loginSlots  chan struct{}
	// dummyHash is compared against when a login names no known user, so
	// that the answer takes as long as for a wrong password and does not
	// tell which user names exist.
	dummyHash func() string
	routes    []route
	mux       *http.ServeMux
	handler   http.Handler
}

// New returns a server. Zero fields of opts take their DefaultOptions
// values.
func New(opts Options) *Server {
	d := DefaultOptions()
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxConcurrentIngest <= 0 {
		opts.MaxConcurrentIngest = d.MaxConcurrentIngest
	}
	if opts.IngestWait <= 0 {
		opts.IngestWait = d.IngestWait
	}
	if opts.MaxConcurrentLogins <= 0 {
		opts.MaxConcurrentLogins = d.MaxConcurrentLogins
	}
	if opts.PasswordCost <= 0 {
		opts.PasswordCost = d.PasswordCost
	}
	if opts.LoginTTL <= 0 {
		opts.LoginTTL = d.LoginTTL
	}
	if opts.Version == "" {
		opts.Version = d.Version
	}
	lim := opts.IngestLimits.WithDefaults()
	maxBody := opts.MaxBodyBytes
	if maxBody <= 0 {
		maxBody = lim.MaxCompressed
	}
	if opts.Registerer == nil {
		reg := prometheus.NewRegistry()
		opts.Registerer = reg
		if opts.Gatherer == nil {
			opts.Gatherer = reg
		}
	}
	if opts.Gatherer == nil {
		if g, ok := opts.Registerer.(prometheus.Gatherer); ok {
			opts.Gatherer = g
		} else {
			opts.Gatherer = prometheus.NewRegistry()
		}
	}
	s := &Server{
		opts:        opts,
		store:       opts.Store,
		admin:       opts.Admin,
		log:         opts.Logger,
		now:         opts.Now,
		limits:      lim,
		maxBody:     maxBody,
		metrics:     newMetrics(opts.Registerer),
		gather:      opts.Gatherer,
		ingestSlots: make(chan struct{}, opts.MaxConcurrentIngest),
		loginSlots:  make(chan struct{}, opts.MaxConcurrentLogins),
	}
	// Computed on the first login: bcrypt is slow, and most servers in
	// tests and behind automation never see a login.
	s.dummyHash = sync.OnceValue(dummyHashOf(opts.PasswordCost))
	s.routes = s.routeTable()
	s.handler = s.buildMux()
	return s
}

// Handler returns the HTTP handler of every route.
func (s *Server) Handler() http.Handler { return s.handler }

// acquire takes a slot of sem, waiting at most wait; false means the server
// is busy and the caller answers 503.
func acquire(ctx context.Context, sem chan struct{}, wait time.Duration) bool {
	select {
	case sem <- struct{}{}:
		return true
	default:
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case sem <- struct{}{}:
		return true
	case <-t.C:
		return false
	case <-ctx.Done():
		return false
	}
}

// randomHex returns n random bytes in hex.
func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b) // never fails (crypto/rand, Go 1.24+)
	return hex.EncodeToString(b)
}
