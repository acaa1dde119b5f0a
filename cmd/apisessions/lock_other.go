//go:build !unix

package main

import (
	"fmt"
	"os"
	"path/filepath"
)

// lockExcludes says that lockDataDir keeps a second writer out: not here.
const lockExcludes = false

// lockDataDir creates the data directory's lock file. Without flock on this
// platform, it does not keep a second writer out: run one writer per data
// directory.
func lockDataDir(dir string) (*os.File, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	return os.OpenFile(filepath.Join(dir, lockFile), os.O_RDWR|os.O_CREATE, 0o600)
}
