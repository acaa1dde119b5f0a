//go:build !cgo

package sqlite

import (
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// driverName is the database/sql driver the store opens its connections
// with: without cgo, modernc.org/sqlite, SQLite translated to Go (see
// driver_cgo.go).
const driverName = "sqlite"
