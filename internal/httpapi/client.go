package httpapi

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/apisessions/apisessions"
	"github.com/apisessions/apisessions/internal/config"
	"github.com/apisessions/apisessions/internal/wire"
)

// maxResponseBytes bounds a response the client reads: a page of 1,000
// sessions or a session's requests fit well within it, and a broken or
// hostile server cannot make the command line allocate without bound.
const maxResponseBytes = 256 << 20

// Client calls a server's API with a token. Its read methods match the
// session store's, so the command line lists and shows sessions the same
// way from a server as from a data directory.
type Client struct {
	base  string
	token string
	hc    *http.Client
}

// NewClient returns a client of the server at baseURL ("https://host:port")
// authenticating with token. hc nil means http.DefaultClient.
func NewClient(baseURL, token string, hc *http.Client) *Client {
	if hc == nil {
		hc = http.DefaultClient
	}
	return &Client{base: strings.TrimRight(baseURL, "/"), token: token, hc: hc}
}

// Close releases nothing today; it is there so that a Client stands in for
// a store.
func (c *Client) Close() error { return nil }

// do sends a request and decodes a JSON answer into out (unless nil).
// Errors of the server come back as *apisessions.Error.
func (c *Client) do(ctx context.Context, method, path string, q url.Values, body io.Reader, contentType string, hdr http.Header, out any) (*http.Response, error) {
	u := c.base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, vs := range hdr {
		req.Header[k] = vs
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return resp, fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	if len(data) > maxResponseBytes {
		return resp, fmt.Errorf("%s %s: answer over %d bytes", method, path, maxResponseBytes)
	}
	if resp.StatusCode >= 400 {
		return resp, responseError(resp.StatusCode, data)
	}
	if out != nil && resp.StatusCode != http.StatusNotModified && resp.StatusCode != http.StatusNoContent {
		if err := json.Unmarshal(data, out); err != nil {
			return resp, fmt.Errorf("%s %s: bad answer: %w", method, path, err)
		}
	}
	return resp, nil
}

// responseError turns an error answer into an *apisessions.Error; a
// refused configuration lists its problems in the message, one per line,
// as `apisessions config check` prints them.
func responseError(status int, data []byte) error {
	var body errorBody
	if err := json.Unmarshal(data, &body); err != nil || body.Error.Code == "" {
		return apisessions.Errorf(codeOf(status), "server answered %d %s", status, http.StatusText(status))
	}
	msg := body.Error.Message
	if msg == "" {
		msg = fmt.Sprintf("server answered %d %s", status, http.StatusText(status))
	}
	if len(body.Problems) > 0 {
		lines := make([]string, 0, len(body.Problems)+1)
		lines = append(lines, msg+":")
		for _, p := range body.Problems {
			lines = append(lines, config.Problem{Path: p.Path, Reason: p.Reason}.String())
		}
		msg = strings.Join(lines, "\n")
	}
	if body.Error.Code == apisessions.EINTERNAL && body.Error.ID != "" {
		msg += " (id " + body.Error.ID + ")"
	}
	return &apisessions.Error{Code: body.Error.Code, Message: msg}
}

// Sessions lists session day parts like apisessions.Store.Sessions. tenant
// is ignored: the token decides. A zero Limit asks for the largest page.
func (c *Client) Sessions(ctx context.Context, tenant string, f apisessions.SessionFilter) (apisessions.SessionPage, error) {
	var out sessionList
	if _, err := c.do(ctx, http.MethodGet, "/api/v1/sessions", encodeFilter(f), nil, "", nil, &out); err != nil {
		return apisessions.SessionPage{}, err
	}
	return apisessions.SessionPage{Sessions: out.Sessions, Next: out.Next}, nil
}

func (c *Client) sessionDetail(ctx context.Context, id, day string) (sessionDetail, error) {
	var q url.Values
	if day != "" {
		q = url.Values{"day": {day}}
	}
	var out sessionDetail
	_, err := c.do(ctx, http.MethodGet, "/api/v1/sessions/"+url.PathEscape(id), q, nil, "", nil, &out)
	return out, err
}

// Session returns the day parts of a session like
// apisessions.Store.Session (ENOTFOUND when there is none).
func (c *Client) Session(ctx context.Context, tenant, id, day string) ([]apisessions.Session, error) {
	d, err := c.sessionDetail(ctx, id, day)
	return d.Parts, err
}

// SessionRequests returns the requests of a session like
// apisessions.Store.SessionRequests.
func (c *Client) SessionRequests(ctx context.Context, tenant, id, day string) ([]apisessions.Record, error) {
	d, err := c.sessionDetail(ctx, id, day)
	return d.Requests, err
}

// Request returns one request by ID.
func (c *Client) Request(ctx context.Context, tenant, id string) (apisessions.Record, error) {
	var out struct {
		Request apisessions.Record `json:"request"`
	}
	_, err := c.do(ctx, http.MethodGet, "/api/v1/requests/"+url.PathEscape(id), nil, nil, "", nil, &out)
	return out.Request, err
}

// Config returns the tenant's current configuration version and its YAML
// (version 0 and an empty document when none was saved).
func (c *Client) Config(ctx context.Context) (apisessions.ConfigVersion, []byte, error) {
	var cv apisessions.ConfigVersion
	if _, err := c.do(ctx, http.MethodGet, "/api/v1/config", nil, nil, "", http.Header{"Accept": {"application/json"}}, &cv); err != nil {
		return cv, nil, err
	}
	y, err := config.Marshal(cv.Config)
	if err != nil {
		return cv, nil, fmt.Errorf("configuration from server: %w", err)
	}
	return cv, y, nil
}

// PutConfig replaces the tenant's configuration with body, YAML
// ("application/yaml") or JSON ("application/json"). A refused
// configuration is an EINVALID *apisessions.Error whose message lists every
// problem.
func (c *Client) PutConfig(ctx context.Context, body []byte, contentType string) error {
	if contentType == "" {
		contentType = "application/yaml"
	}
	_, err := c.do(ctx, http.MethodPut, "/api/v1/config", nil, bytes.NewReader(body), contentType, nil, nil)
	return err
}

// NodeConfig returns what a node runs with: the configuration (defaults
// filled in) and the tenant's session secret. It needs a node or admin
// token.
func (c *Client) NodeConfig(ctx context.Context) (apisessions.Config, []byte, error) {
	var nc NodeConfig
	if _, err := c.do(ctx, http.MethodGet, "/api/v1/node/config", nil, nil, "", nil, &nc); err != nil {
		return apisessions.Config{}, nil, err
	}
	secret, err := hex.DecodeString(nc.Secret)
	if err != nil {
		return apisessions.Config{}, nil, errors.New("node config from server: secret is not hex")
	}
	return nc.Config, secret, nil
}

// Ingest sends one encoded batch (wire.Marshal). A batch the server has
// already stored is accepted again without effect.
func (c *Client) Ingest(ctx context.Context, batch []byte) error {
	_, err := c.IngestStats(ctx, batch)
	return err
}

// IngestStats sends one encoded batch like Ingest and returns what the
// server stored. A batch ID the server had already stored gives zero stats:
// its records were counted when it was first stored.
func (c *Client) IngestStats(ctx context.Context, batch []byte) (apisessions.WriteStats, error) {
	var res ingestResult
	if _, err := c.do(ctx, http.MethodPost, "/api/v1/ingest", nil, bytes.NewReader(batch), wire.ContentType, nil, &res); err != nil {
		return apisessions.WriteStats{}, err
	}
	return apisessions.WriteStats{Stored: res.Stored, Duplicates: res.Duplicates, Sessions: res.Sessions}, nil
}
