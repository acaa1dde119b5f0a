package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/apisessions/apisessions"
)

func runSessions(ctx context.Context, e *env) error {
	if len(e.args) == 0 {
		return usageErrorf("want a subcommand: list or show")
	}
	sub := *e
	sub.args = e.args[1:]
	switch e.args[0] {
	case "list":
		return runSessionsList(ctx, &sub)
	case "show":
		return runSessionsShow(ctx, &sub)
	}
	return usageErrorf("unknown subcommand %q: want list or show", e.args[0])
}

// sessionReader is what the sessions commands read: a local store or a
// server.
type sessionReader interface {
	Sessions(ctx context.Context, tenant string, f apisessions.SessionFilter) (apisessions.SessionPage, error)
	Session(ctx context.Context, tenant, id, day string) ([]apisessions.Session, error)
	SessionRequests(ctx context.Context, tenant, id, day string) ([]apisessions.Record, error)
	Close() error
}

// sourceFlags are the flags that choose where sessions are read from: a
// local data directory, or a server.
type sourceFlags struct {
	data *string
	remoteFlags
}

func addSourceFlags(fs interface {
	String(name, value, usage string) *string
}) sourceFlags {
	return sourceFlags{
		data:        fs.String("data", "", "data `directory` (default ./apisessions-data, env "+dataDirEnv+")"),
		remoteFlags: addRemoteFlags(fs),
	}
}

func (s sourceFlags) open(ctx context.Context, e *env) (sessionReader, error) {
	if c, err := s.client(e); c != nil || err != nil {
		return c, err
	}
	return openExistingStore(ctx, dataDir(*s.data, e.getenv))
}

func runSessionsList(ctx context.Context, e *env) error {
	fs := newFlags(e, "sessions list", "")
	src := addSourceFlags(fs)
	from := fs.String("from", "", "only sessions active at or after `T` (RFC 3339, YYYY-MM-DD, or a duration ago such as 24h)")
	to := fs.String("to", "", "only sessions active at or before `T` (same forms as --from)")
	var f apisessions.SessionFilter
	fs.StringVar(&f.SessionID, "session", "", "session `ID`")
	fs.StringVar(&f.RequestID, "request", "", "the session holding request `ID`")
	fs.StringVar(&f.User, "user", "", "user")
	fs.StringVar(&f.Role, "role", "", "role")
	fs.StringVar(&f.IP, "ip", "", "client IP")
	fs.StringVar(&f.Host, "host", "", "host")
	fs.StringVar(&f.Flow, "flow", "", "business flow")
	fs.StringVar(&f.Endpoint, "endpoint", "", "endpoint containing `TEXT`, such as /api/users or \"POST /api/login\"")
	fs.StringVar(&f.AttackType, "attack-type", "", "attack `type` (sqli, xss, ...)")
	fs.StringVar(&f.Method, "method", "", "HTTP method")
	fs.IntVar(&f.Status, "status", 0, "response status")
	fs.IntVar(&f.Application, "app", 0, "application `ID`")
	fs.BoolVar(&f.Attacks, "attacks", false, "only sessions with attacks")
	blocked := fs.Bool("blocked", false, "only blocked sessions")
	fs.IntVar(&f.Limit, "limit", 50, "at most `N` day parts; 0 for all")
	asJSON := fs.Bool("json", false, "one JSON object per day part per line")
	if err := fs.Parse(e.args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErrorf("unexpected argument %q", fs.Arg(0))
	}
	if f.Limit < 0 {
		return usageErrorf("--limit must be 0 or more")
	}
	now := time.Now()
	var err error
	if f.From, err = parseWhen(*from, now); err != nil {
		return usageErrorf("--from: %v", err)
	}
	if f.To, err = parseWhen(*to, now); err != nil {
		return usageErrorf("--to: %v", err)
	}
	if *blocked {
		f.Blocked = blocked
	}
	r, err := src.open(ctx, e)
	if err != nil {
		return err
	}
	defer r.Close()
	page, err := r.Sessions(ctx, apisessions.DefaultTenant, f)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		for i := range page.Sessions {
			if err := enc.Encode(normalizeSession(page.Sessions[i])); err != nil {
				return err
			}
		}
		return nil
	}
	writeSessionTable(e.stdout, page.Sessions)
	return nil
}

// parseWhen reads a point in time: RFC 3339, a date (midnight UTC), or a
// duration meaning that long before now. Empty is the zero time.
func parseWhen(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, nil
	}
	var d apisessions.Duration
	if err := d.UnmarshalText([]byte(s)); err == nil && d > 0 {
		return now.Add(-time.Duration(d)), nil
	}
	return time.Time{}, fmt.Errorf("%q is not a time: use RFC 3339 (2026-11-20T10:00:00Z), a date (2026-11-20) or a duration ago (24h, 7d)", s)
}

func writeSessionTable(w io.Writer, ss []apisessions.Session) {
	if len(ss) == 0 {
		fmt.Fprintln(w, "no sessions")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "LAST SEEN\tDURATION\tSESSION\tREQS\tATTACKS\tUSER\tROLE\tCLIENT IP\tHOSTS\tFLOWS\tSTATUS")
	for _, s := range ss {
		status := "active"
		if s.Blocked {
			status = "blocked"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\n",
			s.LastSeen.UTC().Format("2006-01-02 15:04:05"),
			s.LastSeen.Sub(s.FirstSeen).Round(time.Second),
			shortID(s.ID), s.RequestCount, s.AttackCount,
			cell(s.User, 24), cell(s.Role, 16), cell(firstOf(s.ClientIPs), 39),
			cell(strings.Join(s.Hosts, ","), 40), cell(flowNames(s.Flows), 40), status)
	}
	tw.Flush()
}

func runSessionsShow(ctx context.Context, e *env) error {
	fs := newFlags(e, "sessions show", "ID")
	src := addSourceFlags(fs)
	day := fs.String("day", "", "only the day part of `YYYY-MM-DD`")
	asJSON := fs.Bool("json", false, "one JSON object: the session and its requests")
	if err := fs.Parse(e.args); err != nil {
		return err
	}
	// Flags may follow the ID too.
	if fs.NArg() == 0 {
		return usageErrorf("want a session ID")
	}
	id := fs.Arg(0)
	if err := fs.Parse(fs.Args()[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErrorf("unexpected argument %q", fs.Arg(0))
	}
	if *day != "" {
		if _, err := time.Parse("2006-01-02", *day); err != nil {
			return usageErrorf("--day must be YYYY-MM-DD")
		}
	}
	r, err := src.open(ctx, e)
	if err != nil {
		return err
	}
	defer r.Close()
	if id, err = resolveSession(ctx, r, id); err != nil {
		return err
	}
	parts, err := r.Session(ctx, apisessions.DefaultTenant, id, *day)
	if err != nil {
		return err
	}
	reqs, err := r.SessionRequests(ctx, apisessions.DefaultTenant, id, *day)
	if err != nil {
		return err
	}
	sum := normalizeSession(apisessions.Summarize(parts))
	for i := range reqs {
		normalizeRecord(&reqs[i])
	}
	if *asJSON {
		days := make([]string, len(parts))
		for i, p := range parts {
			days[i] = p.Day
		}
		return json.NewEncoder(e.stdout).Encode(struct {
			apisessions.Session
			Days     []string             `json:"days"`
			Requests []apisessions.Record `json:"requests"`
		}{sum, days, reqs})
	}
	writeSessionDetail(e.stdout, sum, parts, reqs)
	return nil
}

func writeSessionDetail(w io.Writer, s apisessions.Session, parts []apisessions.Session, reqs []apisessions.Record) {
	days := make([]string, len(parts))
	for i, p := range parts {
		days[i] = p.Day
	}
	status := "active"
	if s.Blocked {
		status = "blocked"
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(k, v string) { fmt.Fprintf(tw, "%s\t%s\n", k, v) }
	row("Session", cell(s.ID, 80))
	row("Status", status)
	row("Days", strings.Join(days, ", "))
	row("First seen", s.FirstSeen.UTC().Format(time.RFC3339))
	row("Last seen", s.LastSeen.UTC().Format(time.RFC3339))
	row("Requests", fmt.Sprintf("%d (%d attacks)", s.RequestCount, s.AttackCount))
	row("Key", cell(s.Key.Point+" = "+s.Key.Value, 120))
	row("User", cell(s.User, 80))
	row("Role", cell(s.Role, 80))
	row("Client IPs", cell(strings.Join(s.ClientIPs, ", "), 120))
	row("User agents", cell(strings.Join(s.UserAgents, " | "), 120))
	row("Hosts", cell(strings.Join(s.Hosts, ", "), 120))
	row("Flows", cell(flowNames(s.Flows), 120))
	tw.Flush()
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tREQUEST\tMETHOD\tHOST\tPATH\tSTATUS\tMS\tATTACKS")
	for _, r := range reqs {
		var attacks []string
		for _, f := range r.Findings {
			attacks = append(attacks, string(f.Type)+"@"+f.Point)
		}
		if r.Blocked {
			attacks = append(attacks, "blocked")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%.1f\t%s\n",
			r.Time.UTC().Format("2006-01-02 15:04:05.000"), cell(r.ID, 20), cell(r.Method, 8), cell(r.Host, 32),
			cell(r.Path, 60), r.Status, r.DurationMS, cell(strings.Join(attacks, ", "), 60))
	}
	tw.Flush()
}

// normalizeSession makes empty lists print as [] rather than null, so
// scripts can rely on the field types.
func normalizeSession(s apisessions.Session) apisessions.Session {
	s.Users = nonNil(s.Users)
	s.Roles = nonNil(s.Roles)
	s.ClientIPs = nonNil(s.ClientIPs)
	s.UserAgents = nonNil(s.UserAgents)
	s.Hosts = nonNil(s.Hosts)
	s.Applications = nonNil(s.Applications)
	s.Flows = nonNil(s.Flows)
	s.Endpoints = nonNil(s.Endpoints)
	s.Statuses = nonNil(s.Statuses)
	s.Methods = nonNil(s.Methods)
	s.AttackTypes = nonNil(s.AttackTypes)
	return s
}

func normalizeRecord(r *apisessions.Record) {
	r.Params = nonNil(r.Params)
	r.Flows = nonNil(r.Flows)
	r.Findings = nonNil(r.Findings)
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func flowNames(fs []apisessions.NameCount) string {
	names := make([]string, len(fs))
	for i, f := range fs {
		names[i] = f.Name
	}
	return strings.Join(names, ", ")
}

func firstOf(s []string) string {
	if len(s) == 0 {
		return ""
	}
	if len(s) > 1 {
		return s[0] + " +" + strconv.Itoa(len(s)-1)
	}
	return s[0]
}

// fullIDLen is the length of a session ID: 64 hex digits of HMAC-SHA256.
const fullIDLen = 64

// resolveSession returns the session ID that id names: id itself when it
// is whole, else the one session whose ID starts with it, such as the 16
// digits the table of sessions list shows.
func resolveSession(ctx context.Context, r sessionReader, id string) (string, error) {
	if len(id) >= fullIDLen {
		return id, nil
	}
	page, err := r.Sessions(ctx, apisessions.DefaultTenant, apisessions.SessionFilter{SessionPrefix: id, Limit: 100})
	if err != nil {
		return "", err
	}
	var ids []string
	for _, s := range page.Sessions {
		if s.ID == id {
			return id, nil
		}
		if !slices.Contains(ids, s.ID) {
			ids = append(ids, s.ID)
		}
	}
	switch len(ids) {
	case 0:
		return "", apisessions.Errorf(apisessions.ENOTFOUND, "no session %q", id)
	case 1:
		return ids[0], nil
	}
	return "", usageErrorf("%d sessions or more start with %q: give more of the ID", len(ids), id)
}

func shortID(id string) string {
	if len(id) > 16 {
		return id[:16]
	}
	return id
}

// cell makes a value safe and short for a terminal table: control and
// invisible characters (which could drive the terminal: values come from
// traffic) are written as escapes, and long values are cut with an ellipsis.
func cell(s string, max int) string {
	var b strings.Builder
	n := 0
	for i, r := range s {
		if n >= max {
			b.WriteString("…")
			break
		}
		switch {
		case r == utf8.RuneError && invalidAt(s, i):
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case !unicode.IsPrint(r) && r != ' ':
			if r < 0x10000 {
				fmt.Fprintf(&b, `\u%04x`, r)
			} else {
				fmt.Fprintf(&b, `\U%08x`, r)
			}
		default:
			b.WriteRune(r)
		}
		n++
	}
	return b.String()
}

// invalidAt reports whether s holds an invalid UTF-8 byte at i.
func invalidAt(s string, i int) bool {
	_, w := utf8.DecodeRuneInString(s[i:])
	return w == 1
}
