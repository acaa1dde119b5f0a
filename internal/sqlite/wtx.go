package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
)

// The writer's statements at the driver level.
//
// database/sql converts the arguments of every statement into a new slice
// of driver.NamedValue: 40 bytes an argument, 80 KB for a multi-row insert
// of requests. Importing 1,000,000 exchanges, that was a third of what the
// store allocated. The writer's insert and update statements run on the
// driver's own statements instead, through the transaction's connection
// (sql.Conn.Raw), with one slice of arguments the writer reuses. Queries
// still go through database/sql.

// writerTx is a transaction of the writer: its statements go through tx,
// its inserts and updates through conn at the driver level (exec).
type writerTx struct {
	s    *Store
	ctx  context.Context
	conn *sql.Conn
	tx   *sql.Tx
	// bad says the driver's connection failed (or the driver panicked):
	// rollback discards it.
	bad bool
}

// beginWrite starts a transaction of the writer. The caller ends it with
// commit, and rollback deferred.
//
// database/sql rolls back a transaction begun with a context that ends, on
// a goroutine of its own, while the statements exec runs through conn.Raw
// would carry on outside the transaction, each committing alone. So only
// the writer ends its transactions: the transaction is begun without
// cancellation, and exec and commit check ctx first.
func (s *Store) beginWrite(ctx context.Context) (*writerTx, error) {
	quiet := context.WithoutCancel(ctx)
	conn, err := s.writer.Conn(quiet)
	if err != nil {
		return nil, err
	}
	tx, err := conn.BeginTx(quiet, nil)
	if err != nil {
		conn.Close()
		return nil, err
	}
	return &writerTx{s: s, ctx: ctx, conn: conn, tx: tx}, nil
}

// commit commits the transaction, unless its context has ended, and hands
// the connection back.
func (t *writerTx) commit() error {
	if err := t.ctx.Err(); err != nil {
		return err
	}
	if err := t.tx.Commit(); err != nil {
		return err
	}
	t.conn.Close() // committed: what closing says does not change that
	return nil
}

// rollback rolls the transaction back unless it committed, and hands the
// connection back, or discards it once it failed.
func (t *writerTx) rollback() {
	t.tx.Rollback()
	if t.bad {
		// The statements go first: SQLite keeps a connection whose
		// statements are not finalized, page cache and files included.
		t.conn.Raw(func(dc any) error {
			t.s.closeExecsOn(dc)
			return driver.ErrBadConn // database/sql closes the connection
		})
	}
	t.conn.Close()
}

// execFault, when a test sets it, runs before each statement of exec: an
// error it returns is the driver's.
var execFault func() error

// exec runs one of writerExecs in the transaction with args (int, int64,
// string, []byte or bool) and returns the rows it changed.
func (t *writerTx) exec(ctx context.Context, query string, args ...any) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	var n int64
	err := t.conn.Raw(func(dc any) (err error) {
		nv := t.s.nv[:0]
		defer func() {
			clear(nv) // keeps no record's memory alive
			t.s.nv = nv[:0]
			// Raw closes the connection when its function panics or
			// reports a bad connection, and to close it waits for the open
			// transaction to end: the write would never end. Both are
			// errors of this write, and rollback discards the connection.
			if p := recover(); p != nil {
				err, t.bad = fmt.Errorf("driver panic: %v", p), true
			} else if errors.Is(err, driver.ErrBadConn) {
				err, t.bad = fmt.Errorf("writer connection: %v", err), true
			}
		}()
		st, err := t.s.driverStmt(ctx, dc, query)
		if err != nil {
			return err
		}
		for i, a := range args {
			v, err := driverValue(a)
			if err != nil {
				return err
			}
			nv = append(nv, driver.NamedValue{Ordinal: i + 1, Value: v})
		}
		if execFault != nil {
			if err := execFault(); err != nil {
				return err
			}
		}
		// Without cancellation: the driver would watch ctx with a goroutine
		// per statement. Statements are short.
		res, err := st.(driver.StmtExecContext).ExecContext(context.WithoutCancel(ctx), nv)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}

// driverValue converts an argument of exec to a driver value.
func driverValue(a any) (driver.Value, error) {
	switch v := a.(type) {
	case int64, string, []byte, bool:
		return v, nil
	case int:
		return int64(v), nil
	}
	return driver.DefaultParameterConverter.ConvertValue(a)
}

// driverStmt returns the driver's statement of query on the writer's
// connection dc: prepared at Open (prepareExecs), or now should the
// connection have changed.
func (s *Store) driverStmt(ctx context.Context, dc any, query string) (driver.Stmt, error) {
	if dc != s.execConn {
		s.execConn, s.execs = dc, map[string]driver.Stmt{}
	}
	if st, ok := s.execs[query]; ok {
		return st, nil
	}
	s.uncached++
	return s.prepareExec(ctx, dc, query)
}

// prepareExec prepares query on dc into execs.
func (s *Store) prepareExec(ctx context.Context, dc any, query string) (driver.Stmt, error) {
	pc, ok := dc.(driver.ConnPrepareContext)
	if !ok {
		return nil, fmt.Errorf("driver connection %T prepares no statement with a context", dc)
	}
	st, err := pc.PrepareContext(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("prepare: %w", err)
	}
	if _, ok := st.(driver.StmtExecContext); !ok {
		st.Close()
		return nil, fmt.Errorf("driver statement %T executes nothing with a context", st)
	}
	s.execs[query] = st
	return st, nil
}

// prepareExecs prepares writerExecs on the writer's connection.
func (s *Store) prepareExecs(ctx context.Context) error {
	conn, err := s.writer.Conn(ctx)
	if err != nil {
		return fmt.Errorf("prepare: %w", err)
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		s.execConn, s.execs = dc, map[string]driver.Stmt{}
		for _, q := range writerExecs() {
			if _, err := s.prepareExec(ctx, dc, q); err != nil {
				return err
			}
		}
		return nil
	})
}

// closeExecs closes the driver's statements, on their connection.
func (s *Store) closeExecs() {
	if len(s.execs) == 0 {
		return
	}
	conn, err := s.writer.Conn(context.Background())
	if err != nil {
		return
	}
	defer conn.Close()
	conn.Raw(func(dc any) error {
		s.closeExecsOn(dc)
		return nil
	})
}

// closeExecsOn closes the driver's statements if they are those of dc.
// (Should database/sql replace the writer's connection otherwise, which
// neither driver makes it do, SQLite keeps the old one until exit.)
func (s *Store) closeExecsOn(dc any) {
	if dc != s.execConn {
		return
	}
	for _, st := range s.execs {
		st.Close()
	}
	s.execConn, s.execs = nil, nil
}
