package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/apisessions/apisessions"
	"github.com/apisessions/apisessions/internal/httpapi"
	"github.com/apisessions/apisessions/internal/wire"
)

// remoteFlags name a server and the token to call it with.
type remoteFlags struct {
	server *string
	token  *string
}

func addRemoteFlags(fs interface {
	String(name, value, usage string) *string
}) remoteFlags {
	return remoteFlags{
		server: fs.String("server", "", "server `URL` instead of a local data directory (env APISESSIONS_SERVER)"),
		token:  fs.String("token", "", "API `token` for --server (env APISESSIONS_TOKEN)"),
	}
}

// client returns a client of the server, or nil when no server is named.
func (r remoteFlags) client(e *env) (*httpapi.Client, error) {
	url, token := *r.server, *r.token
	if url == "" {
		url = e.getenv("APISESSIONS_SERVER")
	}
	if url == "" {
		return nil, nil
	}
	if token == "" {
		token = e.getenv("APISESSIONS_TOKEN")
	}
	if token == "" {
		return nil, usageErrorf("--server needs --token (or APISESSIONS_TOKEN)")
	}
	if !strings.HasPrefix(url, "http://") && !strings.HasPrefix(url, "https://") {
		return nil, usageErrorf("--server must be an http:// or https:// URL")
	}
	return httpapi.NewClient(strings.TrimRight(url, "/"), token, nil), nil
}

// remoteStore sends what the import pipeline writes to a server as wire
// batches; the server stores them exactly as it stores a node's.
type remoteStore struct {
	apisessions.Store
	client *httpapi.Client
	node   string
}

func (r remoteStore) Write(ctx context.Context, _ string, recs []apisessions.Record) (apisessions.WriteStats, error) {
	var total apisessions.WriteStats
	// A server takes at most wire.DefaultLimits().MaxRecords per batch.
	max := wire.DefaultLimits().MaxRecords
	for len(recs) > 0 {
		n := min(len(recs), max)
		b, err := wire.Marshal(&wire.Batch{ID: wire.NewID(), Node: r.node, Created: time.Now().UTC(), Records: recs[:n]})
		if err != nil {
			return total, err
		}
		ws, err := r.client.IngestStats(ctx, b)
		if err != nil {
			return total, err
		}
		total.Stored += ws.Stored
		total.Duplicates += ws.Duplicates
		total.Sessions += ws.Sessions
		recs = recs[n:]
	}
	return total, nil
}

func runConfigPull(ctx context.Context, e *env) error { return configRemote(ctx, e, false) }

func runConfigPush(ctx context.Context, e *env) error { return configRemote(ctx, e, true) }

// configRemote reads (pull) or replaces (push) a server's configuration, as
// the YAML of a configuration file.
func configRemote(ctx context.Context, e *env, push bool) error {
	name := "pull"
	if push {
		name = "push"
	}
	fs := newFlags(e, "config "+name, "[FILE]")
	rf := addRemoteFlags(fs)
	if err := fs.Parse(e.args); err != nil {
		return err
	}
	if fs.NArg() > 1 {
		return usageErrorf("at most one file")
	}
	c, err := rf.client(e)
	if err != nil {
		return err
	}
	if c == nil {
		return usageErrorf("config %s needs --server (or APISESSIONS_SERVER)", name)
	}
	if !push {
		_, yaml, err := c.Config(ctx)
		if err != nil {
			return err
		}
		if fs.NArg() == 1 && fs.Arg(0) != "-" {
			return os.WriteFile(fs.Arg(0), yaml, 0o644)
		}
		_, err = e.stdout.Write(yaml)
		return err
	}
	var body []byte
	if fs.NArg() == 0 || fs.Arg(0) == "-" {
		body, err = io.ReadAll(io.LimitReader(e.stdin, 4<<20))
	} else {
		body, err = os.ReadFile(fs.Arg(0))
	}
	if err != nil {
		return err
	}
	if err := c.PutConfig(ctx, body, "application/yaml"); err != nil {
		return err
	}
	v, _, err := c.Config(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "saved configuration version %d\n", v.Version)
	return nil
}
