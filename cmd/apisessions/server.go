package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/apisessions/apisessions"
	"github.com/apisessions/apisessions/internal/httpapi"
	"github.com/apisessions/apisessions/internal/postgres"
	"github.com/apisessions/apisessions/internal/store"
)

// serverStore is what a server keeps: sessions and everything else.
type serverStore interface {
	apisessions.Store
	apisessions.AdminStore
}

// storeFlags choose the server's store: the embedded one in a data
// directory, or PostgreSQL.
type storeFlags struct {
	data  *string
	store *string
}

func addStoreFlags(fs interface {
	String(name, value, usage string) *string
}) storeFlags {
	return storeFlags{
		data:  fs.String("data", "", "data `directory` of the embedded store (default ./apisessions-data, env "+dataDirEnv+")"),
		store: fs.String("store", "", "PostgreSQL `URL` (postgres://...) instead of the embedded store (env APISESSIONS_STORE)"),
	}
}

// open opens the chosen store; writer takes the data directory's writer
// lock (the server). Administration commands, writing no sessions, share
// the directory with a running writer (openSharedStore).
func (f storeFlags) open(ctx context.Context, e *env, writer bool) (serverStore, string, error) {
	url := *f.store
	if url == "" {
		url = e.getenv("APISESSIONS_STORE")
	}
	if url != "" {
		if !strings.HasPrefix(url, "postgres://") && !strings.HasPrefix(url, "postgresql://") {
			return nil, "", usageErrorf("--store must be a postgres:// URL")
		}
		st, err := postgres.Open(ctx, url, postgres.DefaultOptions())
		if err != nil {
			return nil, "", fmt.Errorf("open PostgreSQL store: %w", err)
		}
		return st, "", nil
	}
	dir := dataDir(*f.data, e.getenv)
	if writer {
		st, err := openWriterStore(ctx, dir)
		if err != nil {
			return nil, "", err
		}
		return st, dir, nil
	}
	st, err := openSharedStore(ctx, dir)
	if err != nil {
		return nil, "", err
	}
	return st, dir, nil
}

func runServer(ctx context.Context, e *env) error {
	fs := newFlags(e, "server", "")
	sf := addStoreFlags(fs)
	listen := fs.String("listen", "127.0.0.1:8080", "`address` to listen on")
	retention := fs.Duration("retention", apisessions.DefaultRetention, "how long sessions are kept")
	secureCookies := fs.Bool("secure-cookies", false, "mark login cookies Secure on plain HTTP too (behind a TLS proxy)")
	adminUser := fs.String("admin-user", "admin", "name of the first admin, created on an empty store")
	if err := fs.Parse(e.args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErrorf("unexpected argument %q", fs.Arg(0))
	}
	logger := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	st, dir, err := sf.open(ctx, e, true)
	if err != nil {
		return err
	}
	defer st.Close()
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	if err := bootstrap(ctx, e, st, dir, *adminUser); err != nil {
		return err
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	opts := httpapi.DefaultOptions()
	opts.Store = st
	opts.Admin = st
	opts.Logger = logger
	opts.Registerer = reg
	opts.Gatherer = reg
	opts.SecureCookies = *secureCookies
	opts.Version = version
	api := httpapi.New(opts)

	srv := &http.Server{
		Handler:           api.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	retentionDone := make(chan struct{})
	go func() {
		defer close(retentionDone)
		store.RunRetention(ctx, st, store.RetentionOptions{Retention: *retention, Logger: logger})
	}()
	batchesDone := make(chan struct{})
	go func() {
		defer close(batchesDone)
		forgetBatches(ctx, st, *retention, logger)
	}()
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	logger.Info("server listening", "addr", ln.Addr().String(), "version", version)
	fmt.Fprintf(e.stdout, "apisessions server listening on http://%s\n", ln.Addr())

	select {
	case err = <-serveErr:
	case <-ctx.Done():
		shutdownCtx, stop := context.WithTimeout(context.Background(), 10*time.Second)
		err = srv.Shutdown(shutdownCtx)
		stop()
	}
	cancel()
	<-retentionDone
	<-batchesDone
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// forgetBatches drops, hourly, the IDs of ingested batches (and expired
// logins) older than the retention window: no node resends a batch that old.
func forgetBatches(ctx context.Context, st apisessions.AdminStore, retention time.Duration, logger *slog.Logger) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if err := st.ForgetBatches(ctx, time.Now().Add(-retention)); err != nil && ctx.Err() == nil {
			logger.Error("forget old batch IDs", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// bootstrap creates the tenant "default", its first admin and an admin
// token on an empty store, and prints the credentials once. With
// APISESSIONS_BOOTSTRAP_TOKEN set, the token takes its value, and with
// APISESSIONS_BOOTSTRAP_PASSWORD the admin's password (for automation).
func bootstrap(ctx context.Context, e *env, st serverStore, dir, adminName string) error {
	tenants, err := st.Tenants(ctx)
	if err != nil {
		return fmt.Errorf("bootstrap: %w", err)
	}
	if len(tenants) > 0 {
		return nil
	}
	t, err := createTenant(ctx, st, apisessions.DefaultTenant, dir)
	if err != nil {
		return err
	}
	password := e.getenv("APISESSIONS_BOOTSTRAP_PASSWORD")
	if password == "" {
		password = randomText(20)
	}
	if err := createUser(ctx, st, t.ID, adminName, apisessions.RoleAdmin, password); err != nil {
		return err
	}
	tok, err := createToken(ctx, st, t.ID, "bootstrap", apisessions.RoleAdmin, e.getenv("APISESSIONS_BOOTSTRAP_TOKEN"))
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Created tenant %q with its first admin. Shown once, keep them now:\n", t.Name)
	fmt.Fprintf(e.stdout, "  console login:   tenant %s, user %s, password %s\n", t.Name, adminName, password)
	fmt.Fprintf(e.stdout, "  admin API token: %s\n", tok.secret)
	return nil
}

// createTenant adds a tenant whose ID is its name. The tenant "default" of
// a data directory shares the directory's session secret, so traffic
// imported locally and sent by nodes land in the same sessions.
func createTenant(ctx context.Context, st apisessions.AdminStore, name, dir string) (apisessions.Tenant, error) {
	var secret []byte
	var err error
	if name == apisessions.DefaultTenant && dir != "" {
		secret, err = loadSecret(dir, "")
	} else {
		secret = make([]byte, secretBytes)
		_, err = rand.Read(secret)
	}
	if err != nil {
		return apisessions.Tenant{}, err
	}
	t := apisessions.Tenant{ID: name, Name: name, Created: time.Now().UTC(), Secret: secret}
	if err := st.CreateTenant(ctx, t); err != nil {
		return t, fmt.Errorf("create tenant %s: %w", name, err)
	}
	return t, nil
}

func createUser(ctx context.Context, st apisessions.AdminStore, tenant, name string, role apisessions.Role, password string) error {
	if len(password) < 8 {
		return errors.New("the password must have at least 8 characters")
	}
	hash, err := httpapi.HashPassword(password)
	if err != nil {
		return err
	}
	u := apisessions.User{ID: randomText(16), Tenant: tenant, Name: name, Role: role, PasswordHash: hash, Created: time.Now().UTC()}
	if err := st.CreateUser(ctx, u); err != nil {
		return fmt.Errorf("create user %s: %w", name, err)
	}
	return nil
}

// newToken is a token just created, with its secret (shown once).
type newToken struct {
	apisessions.Token
	secret string
}

func createToken(ctx context.Context, st apisessions.AdminStore, tenant, name string, role apisessions.Role, secret string) (newToken, error) {
	hash := ""
	if secret == "" {
		secret, hash = httpapi.NewToken()
	} else {
		if len(secret) < 16 {
			return newToken{}, errors.New("a token must have at least 16 characters")
		}
		hash = httpapi.HashToken(secret)
	}
	t := apisessions.Token{ID: randomText(12), Tenant: tenant, Name: name, Role: role, Hash: hash, Created: time.Now().UTC()}
	if err := st.CreateToken(ctx, t); err != nil {
		return newToken{}, fmt.Errorf("create token: %w", err)
	}
	return newToken{t, secret}, nil
}

// randomText returns n random characters of an alphabet without look-alikes.
func randomText(n int) string {
	const alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	// Bytes at or over the largest multiple of the alphabet size are
	// drawn again, so that every character is equally likely.
	const limit = 256 - 256%len(alphabet)
	out := make([]byte, 0, n)
	buf := make([]byte, n)
	for len(out) < n {
		rand.Read(buf)
		for _, c := range buf {
			if int(c) < limit && len(out) < n {
				out = append(out, alphabet[int(c)%len(alphabet)])
			}
		}
	}
	return string(out)
}
