package httpapi

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/apisessions/apisessions"
)

// route is one entry of the route table, which is the single source of both
// the mux and the OpenAPI document.
type route struct {
	Method string
	// Path is a net/http pattern path; {name} segments are path
	// parameters in both the mux and OpenAPI.
	Path    string
	Op      string // OpenAPI operationId
	Summary string
	// Roles may call the route; nil means no authentication (login,
	// health, metrics).
	Roles []apisessions.Role
	// Query documents the query parameters.
	Query []queryParam
	// Body is the request media types, if any.
	Body []string
	// Produces is the media types of a success answer.
	Produces []string
	// Status is the success status.
	Status  int
	Handler apiFunc
}

// queryParam documents one query parameter.
type queryParam struct {
	Name, Type, Description string
}

var (
	anyRole      = []apisessions.Role{apisessions.RoleAdmin, apisessions.RoleAnalyst, apisessions.RoleNode}
	readers      = []apisessions.Role{apisessions.RoleAdmin, apisessions.RoleAnalyst}
	adminOnly    = []apisessions.Role{apisessions.RoleAdmin}
	nodeOrAdmin  = []apisessions.Role{apisessions.RoleNode, apisessions.RoleAdmin}
	jsonOnly     = []string{"application/json"}
	yamlTypes    = []string{"application/yaml", "application/json"}
	loginBody    = []string{"application/json", "application/x-www-form-urlencoded"}
	ingestBody   = []string{"application/vnd.apisessions.batch"}
	dayParam     = []queryParam{{"day", "string", "only the day part of this day (YYYY-MM-DD)"}}
	textPlain    = []string{"text/plain"}
	metricsTypes = []string{"text/plain; version=0.0.4"}
)

// routeTable lists every route. Roles: admin may do everything in its
// tenant; analyst reads everything but node sync, and adds to the denylist
// (removing an entry, changing configuration are admin's); node sends
// batches and reads node sync. Admin may also ingest and sync, so that
// `apisessions import --server` works with an admin token.
func (s *Server) routeTable() []route {
	return []route{
		{Method: "POST", Path: "/api/v1/login", Op: "login", Summary: "Log a console user in: sets the login cookie, returns the CSRF token", Body: loginBody, Produces: jsonOnly, Status: 200, Handler: s.handleLogin},
		{Method: "POST", Path: "/api/v1/logout", Op: "logout", Summary: "Log out the console login of the cookie", Roles: readers, Status: 204, Handler: s.handleLogout},
		{Method: "POST", Path: "/api/v1/ingest", Op: "ingest", Summary: "Store a batch of export records from a node (idempotent by batch and record ID)", Roles: nodeOrAdmin, Body: ingestBody, Produces: jsonOnly, Status: 200, Handler: s.handleIngest},
		{Method: "GET", Path: "/api/v1/sessions", Op: "listSessions", Summary: "List session day parts, newest first, with filters and cursor paging", Roles: readers, Query: filterParams, Produces: jsonOnly, Status: 200, Handler: s.handleSessions},
		{Method: "GET", Path: "/api/v1/sessions/{id}", Op: "getSession", Summary: "Show a session: summary, day parts and requests", Roles: readers, Query: dayParam, Produces: jsonOnly, Status: 200, Handler: s.handleSession},
		{Method: "GET", Path: "/api/v1/sessions/{id}/requests.csv", Op: "getSessionRequestsCSV", Summary: "Download the requests of a session as CSV", Roles: readers, Query: dayParam, Produces: []string{"text/csv"}, Status: 200, Handler: s.handleSessionCSV},
		{Method: "GET", Path: "/api/v1/requests/{id}", Op: "getRequest", Summary: "Show one request", Roles: readers, Produces: jsonOnly, Status: 200, Handler: s.handleRequest},
		{Method: "GET", Path: "/api/v1/config", Op: "getConfig", Summary: "The current configuration (YAML with Accept: application/yaml)", Roles: readers, Produces: yamlTypes, Status: 200, Handler: s.handleGetConfig},
		{Method: "PUT", Path: "/api/v1/config", Op: "putConfig", Summary: "Validate and save a new configuration version (YAML or JSON)", Roles: adminOnly, Body: yamlTypes, Produces: jsonOnly, Status: 200, Handler: s.handlePutConfig},
		{Method: "GET", Path: "/api/v1/config/history", Op: "getConfigHistory", Summary: "Every saved configuration version, newest first: who, when, what", Roles: readers, Produces: jsonOnly, Status: 200, Handler: s.handleConfigHistory},
		{Method: "GET", Path: "/api/v1/denylist", Op: "listDenylist", Summary: "The session denylist entries in force", Roles: readers, Produces: jsonOnly, Status: 200, Handler: s.handleDenylist},
		{Method: "POST", Path: "/api/v1/denylist", Op: "addDenylist", Summary: "Put a session on the denylist (default 1 hour)", Roles: readers, Body: jsonOnly, Produces: jsonOnly, Status: 201, Handler: s.handleAddDeny},
		{Method: "DELETE", Path: "/api/v1/denylist/{id}", Op: "deleteDenylist", Summary: "Remove a denylist entry (unblocks the session)", Roles: adminOnly, Status: 204, Handler: s.handleDeleteDeny},
		{Method: "GET", Path: "/api/v1/nodes", Op: "listNodes", Summary: "Nodes: name, version, last seen, counters", Roles: readers, Produces: jsonOnly, Status: 200, Handler: s.handleNodes},
		{Method: "GET", Path: "/api/v1/node/config", Op: "nodeConfig", Summary: "What a node runs with: configuration and session secret (ETag)", Roles: nodeOrAdmin, Produces: jsonOnly, Status: 200, Handler: s.handleNodeConfig},
		{Method: "GET", Path: "/api/v1/node/denylist", Op: "nodeDenylist", Summary: "The denylist entries in force, for nodes (ETag)", Roles: nodeOrAdmin, Produces: jsonOnly, Status: 200, Handler: s.handleNodeDenylist},
		{Method: "GET", Path: "/api/v1/openapi.json", Op: "openapi", Summary: "This OpenAPI 3 document", Roles: anyRole, Produces: jsonOnly, Status: 200, Handler: s.handleOpenAPI},
		{Method: "GET", Path: "/healthz", Op: "healthz", Summary: "The process is up", Produces: textPlain, Status: 200, Handler: s.handleHealthz},
		{Method: "GET", Path: "/readyz", Op: "readyz", Summary: "The store is reachable", Produces: textPlain, Status: 200, Handler: s.handleReadyz},
		{Method: "GET", Path: "/metrics", Op: "metrics", Summary: "Prometheus metrics", Produces: metricsTypes, Status: 200, Handler: s.handleMetrics},
	}
}

// buildMux registers every route, a JSON 405 for known paths with another
// method, and a JSON 404 for the rest.
func (s *Server) buildMux() http.Handler {
	mux := http.NewServeMux()
	methods := map[string][]string{}
	var paths []string
	for _, rt := range s.routes {
		mux.Handle(rt.Method+" "+rt.Path, s.wrap(rt))
		if _, ok := methods[rt.Path]; !ok {
			paths = append(paths, rt.Path)
		}
		methods[rt.Path] = append(methods[rt.Path], rt.Method)
	}
	for _, p := range paths {
		allow := methods[p]
		if slices.Contains(allow, "GET") {
			allow = append(allow, "HEAD")
		}
		rt := route{Path: p, Op: "method_not_allowed", Handler: func(w http.ResponseWriter, r *http.Request, _ *principal) error {
			w.Header().Set("Allow", strings.Join(allow, ", "))
			return apisessions.Errorf(EMETHOD, "%s is not allowed here; allowed: %s", safeMethod(r.Method), strings.Join(allow, ", "))
		}}
		mux.Handle(p, s.wrap(rt))
	}
	notFound := route{Path: "/", Op: "not_found", Handler: func(w http.ResponseWriter, r *http.Request, _ *principal) error {
		return apisessions.Errorf(apisessions.ENOTFOUND, "no such route")
	}}
	mux.Handle("/", s.wrap(notFound))
	s.mux = mux
	return mux
}

// safeMethod returns the method for a message, or "this method" when it is
// not a plain token (the method is client controlled).
func safeMethod(m string) string {
	if len(m) > 16 {
		return "this method"
	}
	for _, c := range m {
		if c < 'A' || c > 'Z' {
			return "this method"
		}
	}
	return m
}

// wrap turns an apiFunc into a handler: security headers, authentication
// and role check, CSRF check for cookie logins, one error path, metrics.
func (s *Server) wrap(rt route) http.Handler {
	label := rt.Path
	if rt.Method != "" {
		label = rt.Method + " " + rt.Path
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cache-Control", "no-store")
		h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
		rec := &statusRecorder{ResponseWriter: w}
		err := s.serve(rec, r, rt)
		if err != nil {
			s.writeError(rec, r, label, err)
		}
		code := rec.status
		if code == 0 {
			code = http.StatusOK
		}
		s.metrics.httpRequests.WithLabelValues(label, strconv.Itoa(code)).Inc()
		s.metrics.httpSeconds.WithLabelValues(label).Observe(time.Since(start).Seconds())
	})
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request, rt route) error {
	var p *principal
	if rt.Roles != nil {
		var err error
		if p, err = s.authenticate(r); err != nil {
			return err
		}
		if !p.allowed(rt.Roles) {
			return apisessions.Errorf(apisessions.EFORBIDDEN, "the %s role may not call %s %s", p.Role, rt.Method, rt.Path)
		}
		if err := checkCSRF(r, p); err != nil {
			return err
		}
	}
	return rt.Handler(w, r, p)
}

// statusRecorder remembers the status for metrics.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
