package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/apisessions/apisessions/internal/sqlite"
)

// The data directory holds the embedded store and the session secret.
const (
	defaultDataDir = "apisessions-data"
	dataDirEnv     = "APISESSIONS_DATA"
	storeFile      = "apisessions.db"
	secretFile     = "session.secret"
	lockFile       = "writer.lock"
	// secretBytes is the size of a generated session secret: 256 bits, the
	// HMAC-SHA256 block strength.
	secretBytes = 32
)

// errDataDirInUse matches the error of lockDataDir when another process
// holds the lock (dataDirInUseError).
var errDataDirInUse = errors.New("data directory in use")

type dataDirInUseError struct{ dir string }

func (e dataDirInUseError) Error() string {
	return fmt.Sprintf("data directory %s is in use by another apisessions process that writes to it (a server or an import): stop it, or send through it with --server", e.dir)
}

func (dataDirInUseError) Is(target error) bool { return target == errDataDirInUse }

// dataDir resolves the data directory: the flag, else the environment, else
// ./apisessions-data.
func dataDir(flagValue string, getenv func(string) string) string {
	if flagValue != "" {
		return flagValue
	}
	if v := getenv(dataDirEnv); v != "" {
		return v
	}
	return defaultDataDir
}

// openLocalStore opens (creating when needed) the embedded store in dir
// with opts.
func openLocalStore(ctx context.Context, dir string, opts sqlite.Options) (*sqlite.Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	st, err := sqlite.Open(ctx, filepath.Join(dir, storeFile), opts)
	if err != nil {
		return nil, fmt.Errorf("open store in %s: %w", dir, err)
	}
	return st, nil
}

// writerStore is the embedded store opened by the one process that writes
// it, holding the data directory's writer lock until Close.
type writerStore struct {
	*sqlite.Store
	lock *os.File
}

// Close closes the store, then releases the lock.
func (w writerStore) Close() error {
	err := w.Store.Close()
	if lerr := w.lock.Close(); err == nil {
		err = lerr
	}
	return err
}

// openWriterStore takes the data directory's writer lock and opens the
// embedded store in it.
func openWriterStore(ctx context.Context, dir string) (writerStore, error) {
	lock, err := lockDataDir(dir)
	if err != nil {
		return writerStore{}, err
	}
	st, err := openLocalStore(ctx, dir, sqlite.DefaultOptions())
	if err != nil {
		lock.Close()
		return writerStore{}, err
	}
	return writerStore{st, lock}, nil
}

// openSharedStore opens the embedded store in dir for a process that
// writes no sessions (reads, administration). When another process writes
// the store (an import, a server: it holds the writer lock), the store is
// opened to read sessions only (sqlite.Options.SessionReader): the parts
// that process keeps in memory are its own to store. Otherwise this
// process holds the lock while it opens the store, so that a store a
// crashed writer left gets its parts rebuilt, and lets it go at once, so
// that a writer may start meanwhile. Where the lock cannot tell (not
// unix), the store is always opened to read sessions.
func openSharedStore(ctx context.Context, dir string) (*sqlite.Store, error) {
	opts := sqlite.DefaultOptions()
	var lock *os.File
	if lockExcludes {
		var err error
		lock, err = lockDataDir(dir)
		switch {
		case errors.Is(err, errDataDirInUse):
			opts.SessionReader = true
		case err != nil:
			return nil, err
		}
	} else {
		opts.SessionReader = true
	}
	st, err := openLocalStore(ctx, dir, opts)
	if lock != nil {
		lock.Close()
	}
	return st, err
}

// openExistingStore opens the embedded store in dir for reading
// (openSharedStore); a missing store is a clear error rather than a new
// empty one.
func openExistingStore(ctx context.Context, dir string) (*sqlite.Store, error) {
	if _, err := os.Stat(filepath.Join(dir, storeFile)); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("no store in %s: import traffic first, or pass --data", dir)
	}
	return openSharedStore(ctx, dir)
}

// loadSecret returns the tenant's session secret: from file when set, else
// from the data directory, generated there once with mode 0600.
func loadSecret(dir, file string) ([]byte, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("read session secret: %w", err)
		}
		s := strings.TrimSpace(string(b))
		if len(s) < 16 {
			return nil, fmt.Errorf("session secret in %s is shorter than 16 characters", file)
		}
		return []byte(s), nil
	}
	path := filepath.Join(dir, secretFile)
	if b, err := os.ReadFile(path); err == nil {
		return decodeSecret(path, b)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read session secret: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	raw := make([]byte, secretBytes)
	if _, err := rand.Read(raw); err != nil {
		return nil, fmt.Errorf("generate session secret: %w", err)
	}
	// O_EXCL: when two processes start at once, one secret wins and both use it.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("read session secret: %w", err)
		}
		return decodeSecret(path, b)
	}
	if err != nil {
		return nil, fmt.Errorf("write session secret: %w", err)
	}
	if _, err := f.WriteString(hex.EncodeToString(raw) + "\n"); err != nil {
		f.Close()
		return nil, fmt.Errorf("write session secret: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("write session secret: %w", err)
	}
	return raw, nil
}

func decodeSecret(path string, b []byte) ([]byte, error) {
	raw, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(raw) < 16 {
		return nil, fmt.Errorf("session secret %s is damaged: want at least 32 hex digits", path)
	}
	return raw, nil
}
