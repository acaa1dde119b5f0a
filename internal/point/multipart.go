package point

import (
	"io"
	"mime"
	"mime/multipart"
	"strings"
)

// multipartBoundary finds the boundary from the first delimiter line
// ("--BOUNDARY"). Sniffing it, rather than reading Content-Type, lets
// |multipart work on any value (a base64 field holding a multipart body
// too) and on bodies whose Content-Type lies.
func multipartBoundary(s string) (string, bool) {
	s = strings.TrimLeft(s, "\r\n")
	line := s
	if k := strings.IndexByte(s, '\n'); k >= 0 {
		line = s[:k]
	}
	line = strings.TrimRight(line, " \t\r")
	if !strings.HasPrefix(line, "--") || len(line) < 3 || len(line) > 72 {
		return "", false
	}
	return line[2:], true
}

// appendMultipart appends the fields of a multipart/form-data body: a
// field's value is its content, a file part's is its file name (file
// contents are never read into values). cut says a limit stopped it.
func appendMultipart(out []pair, s string, lim Limits) ([]pair, bool) {
	boundary, ok := multipartBoundary(s)
	if !ok {
		return out, false
	}
	r := multipart.NewReader(strings.NewReader(strings.TrimLeft(s, "\r\n")), boundary)
	for parts := 0; ; parts++ {
		if parts >= lim.MaxElements {
			return out, true
		}
		p, err := r.NextRawPart()
		if err != nil {
			return out, false
		}
		// The parameters are read raw: Part.FileName strips directories,
		// and "../../etc/passwd" is what an analyst needs to see.
		disposition, params, err := mime.ParseMediaType(p.Header.Get("Content-Disposition"))
		name := params["name"]
		if err != nil || disposition != "form-data" || name == "" {
			continue
		}
		if fn, ok := params["filename"]; ok {
			out = append(out, pair{name: name, value: fn, file: true})
			continue
		}
		// The input is already bounded by the body limit; read at most
		// that much of one part.
		b, err := io.ReadAll(io.LimitReader(p, int64(lim.BodyBytes)))
		if err != nil && len(b) == 0 {
			return out, false
		}
		out = append(out, pair{name: name, value: string(b)})
	}
}
