package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// openAPI builds the OpenAPI 3 document from the route table, so that the
// document cannot drift from what is routed.
func (s *Server) openAPI() map[string]any {
	paths := map[string]any{}
	for _, rt := range s.routes {
		item, _ := paths[rt.Path].(map[string]any)
		if item == nil {
			item = map[string]any{}
			paths[rt.Path] = item
		}
		op := map[string]any{
			"operationId": rt.Op,
			"summary":     rt.Summary,
		}
		var params []any
		for _, seg := range strings.Split(rt.Path, "/") {
			if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") {
				params = append(params, map[string]any{
					"name": seg[1 : len(seg)-1], "in": "path", "required": true,
					"schema": map[string]any{"type": "string"},
				})
			}
		}
		for _, q := range rt.Query {
			params = append(params, map[string]any{
				"name": q.Name, "in": "query", "description": q.Description,
				"schema": map[string]any{"type": q.Type},
			})
		}
		if params != nil {
			op["parameters"] = params
		}
		if len(rt.Body) > 0 {
			content := map[string]any{}
			for _, mt := range rt.Body {
				content[mt] = map[string]any{}
			}
			op["requestBody"] = map[string]any{"required": true, "content": content}
		}
		ok := map[string]any{"description": http.StatusText(rt.Status)}
		if len(rt.Produces) > 0 {
			content := map[string]any{}
			for _, mt := range rt.Produces {
				content[mt] = map[string]any{}
			}
			ok["content"] = content
		}
		errResp := map[string]any{"$ref": "#/components/responses/Error"}
		responses := map[string]any{fmt.Sprint(rt.Status): ok, "default": errResp}
		if rt.Roles == nil {
			op["security"] = []any{}
		} else {
			roles := make([]string, len(rt.Roles))
			for i, r := range rt.Roles {
				roles[i] = string(r)
			}
			op["x-roles"] = roles
		}
		op["responses"] = responses
		item[strings.ToLower(rt.Method)] = op
	}
	return map[string]any{
		"openapi": "3.0.3",
		"info": map[string]any{
			"title":       "apisessions server API",
			"version":     s.opts.Version,
			"description": "Every /api/v1 call is authenticated and scoped to the caller's tenant. Errors: {\"error\": {\"code\", \"message\", \"id\"}}.",
		},
		"paths": paths,
		"security": []any{
			map[string]any{"bearer": []any{}},
			map[string]any{"cookie": []any{}},
		},
		"components": map[string]any{
			"securitySchemes": map[string]any{
				"bearer": map[string]any{"type": "http", "scheme": "bearer"},
				"cookie": map[string]any{"type": "apiKey", "in": "cookie", "name": CookieName,
					"description": "console login; changes also need the " + CSRFHeader + " header"},
			},
			"responses": map[string]any{
				"Error": map[string]any{
					"description": "an error",
					"content": map[string]any{"application/json": map[string]any{"schema": map[string]any{
						"type": "object",
						"properties": map[string]any{
							"error": map[string]any{"type": "object", "properties": map[string]any{
								"code":    map[string]any{"type": "string"},
								"message": map[string]any{"type": "string"},
								"id":      map[string]any{"type": "string"},
							}},
							"problems": map[string]any{"type": "array", "items": map[string]any{"type": "object", "properties": map[string]any{
								"path":   map[string]any{"type": "string"},
								"reason": map[string]any{"type": "string"},
							}}},
						},
					}}},
				},
			},
		},
	}
}

func (s *Server) handleOpenAPI(w http.ResponseWriter, r *http.Request, _ *principal) error {
	writeJSON(w, http.StatusOK, s.openAPI())
	return nil
}

func (s *Server) handleHealthz(w http.ResponseWriter, r *http.Request, _ *principal) error {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte("ok\n"))
	return nil
}

// readyTimeout bounds the store probe of /readyz, so that a hung store
// makes the probe fail rather than hang.
const readyTimeout = 2 * time.Second

func (s *Server) handleReadyz(w http.ResponseWriter, r *http.Request, _ *principal) error {
	ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
	defer cancel()
	err := s.timed("ready", func() error {
		_, err := s.store.Days(ctx)
		return err
	})
	if err == nil {
		_, err = s.admin.Tenants(ctx)
	}
	if err != nil {
		s.log.Warn("not ready: store unreachable", "err", err)
		return &retryAfterError{after: 5 * time.Second, msg: "store unreachable"}
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte("ready\n"))
	return nil
}

func (s *Server) handleMetrics(w http.ResponseWriter, r *http.Request, _ *principal) error {
	promhttp.HandlerFor(s.gather, promhttp.HandlerOpts{}).ServeHTTP(w, r)
	return nil
}
