//go:build unix

package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// lockExcludes says that lockDataDir keeps a second writer out.
const lockExcludes = true

// lockDataDir takes the data directory's writer lock: the embedded store
// writes session parts behind (internal/sqlite), so two processes writing
// one store would overwrite each other's parts. Readers take it only while
// they open the store, when it is free (openSharedStore). The lock goes
// with the process, however it ends.
func lockDataDir(dir string) (*os.File, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(dir, lockFile), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock data directory: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, dataDirInUseError{dir}
		}
		return nil, fmt.Errorf("lock data directory: %w", err)
	}
	return f, nil
}
