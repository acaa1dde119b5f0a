//go:build !cgo

package sqlite

import (
	"database/sql/driver"
	"fmt"

	"modernc.org/sqlite" // registers the "sqlite" driver
)

// driverName is the database/sql driver the store opens its connections
// with: without cgo, modernc.org/sqlite, SQLite translated to Go (see
// driver_cgo.go).
const driverName = "sqlite"

func init() {
	sqlite.MustRegisterDeterministicScalarFunction(requestsBetweenFunc, 3, func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
		list, ok := args[0].([]byte)
		from, ok1 := args[1].(int64)
		to, ok2 := args[2].(int64)
		if !ok || !ok1 || !ok2 {
			return nil, fmt.Errorf("%s: want (blob, integer, integer), got (%T, %T, %T)", requestsBetweenFunc, args[0], args[1], args[2])
		}
		return requestsBetween(list, from, to)
	})
}
