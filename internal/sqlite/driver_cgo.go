//go:build cgo

package sqlite

import (
	"database/sql"
	"database/sql/driver"
	"fmt"
	"net/url"
	"strings"

	sqlite3 "github.com/mattn/go-sqlite3"
)

// Where cgo is available the store runs on SQLite's C library, through
// github.com/mattn/go-sqlite3; elsewhere on its translation to Go,
// modernc.org/sqlite (driver_purego.go). Both read and write the same
// files. The C library is the faster: importing 100,000 exchanges took 28%
// fewer instructions in the store on it (the README's Performance section).

// driverName is the database/sql driver the store opens its connections
// with.
const driverName = "apisessions-sqlite3"

func init() {
	sql.Register(driverName, pragmaDriver{&sqlite3.SQLiteDriver{
		ConnectHook: func(c *sqlite3.SQLiteConn) error {
			return c.RegisterFunc(requestsBetweenFunc, requestsBetween, true)
		},
	}})
}

// pragmaDriver takes the connection strings the store writes for both
// drivers. go-sqlite3 knows their _busy_timeout, _synchronous, _txlock and
// _query_only parameters but not _pragma=name(value): pragmaDriver runs
// those as PRAGMAs on each new connection, in order, and the journal mode
// last, so that page_size still applies to a new file (in WAL mode the page
// size is fixed).
type pragmaDriver struct{ d *sqlite3.SQLiteDriver }

func (p pragmaDriver) Open(dsn string) (driver.Conn, error) {
	path, query, _ := strings.Cut(dsn, "?")
	q, err := url.ParseQuery(query)
	if err != nil {
		return nil, fmt.Errorf("connection string: %w", err)
	}
	var pragmas []string
	for _, v := range q["_pragma"] {
		name, arg, ok := strings.Cut(v, "(")
		if !ok || !strings.HasSuffix(arg, ")") {
			return nil, fmt.Errorf("connection string: pragma %q is not name(value)", v)
		}
		pragmas = append(pragmas, "PRAGMA "+name+" = "+strings.TrimSuffix(arg, ")"))
	}
	if mode := q.Get("_journal_mode"); mode != "" {
		pragmas = append(pragmas, "PRAGMA journal_mode = "+mode)
	}
	delete(q, "_pragma")
	delete(q, "_journal_mode")
	c, err := p.d.Open(path + "?" + q.Encode())
	if err != nil {
		return nil, err
	}
	conn := c.(*sqlite3.SQLiteConn)
	for _, pragma := range pragmas {
		if _, err := conn.Exec(pragma, nil); err != nil {
			conn.Close()
			return nil, fmt.Errorf("%s: %w", pragma, err)
		}
	}
	return conn, nil
}
