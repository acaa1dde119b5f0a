package capture

import (
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"
)

// generator streams a traffic file made on the fly, so that a large input
// costs no disk and no memory: head, then records until size bytes, then
// tail.
type generator struct {
	head, sep, tail string
	record          func(i int) string
	size            int64
	// onRead, when set, runs every 64 reads (to sample the heap while a
	// reader is deep inside one record).
	onRead func()

	buf     []byte // pending bytes, reused
	off     int
	written int64
	n       int
	reads   int
	done    bool
}

func (g *generator) Read(p []byte) (int, error) {
	if g.reads++; g.onRead != nil && g.reads%64 == 0 {
		g.onRead()
	}
	for g.off == len(g.buf) {
		g.buf, g.off = g.buf[:0], 0
		switch {
		case g.done:
			return 0, io.EOF
		case g.n == 0:
			g.buf = append(g.buf, g.head...)
			g.buf = append(g.buf, g.record(0)...)
			g.n++
		case g.written >= g.size:
			g.buf, g.done = append(g.buf, g.tail...), true
		default:
			g.buf = append(g.buf, g.sep...)
			g.buf = append(g.buf, g.record(g.n)...)
			g.n++
		}
	}
	n := copy(p, g.buf[g.off:])
	g.off += n
	g.written += int64(n)
	return n, nil
}

// heapWatch samples the live heap while a reader runs.
type heapWatch struct {
	base, peak uint64
}

func newHeapWatch() *heapWatch {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return &heapWatch{base: m.HeapAlloc}
}

func (h *heapWatch) sample() {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	if m.HeapAlloc > h.peak {
		h.peak = m.HeapAlloc
	}
}

func (h *heapWatch) growth() uint64 {
	if h.peak < h.base {
		return 0
	}
	return h.peak - h.base
}

// streamSize is how much the constant-memory tests read: enough to dwarf any
// buffer, small enough to stay fast under the race detector (which makes
// encoding/json several times slower), and in -short runs.
func streamSize(full int64) int64 {
	if raceEnabled || testing.Short() {
		return 8 << 20
	}
	return full
}

func TestConstantMemory(t *testing.T) {
	body := strings.Repeat(`{\"sku\":\"A-1\",\"qty\":1}`, 80) // ~1.8 KB
	jsonlRecord := func(i int) string {
		return fmt.Sprintf(`{"id": "r-%d", "time": "2026-11-20T10:00:00Z", "client_ip": "203.0.113.7", `+
			`"request": {"method": "POST", "url": "https://shop.example.com/api/orders/%d", `+
			`"headers": [["Content-Type", "application/json"], ["Cookie", "PHPSESSID=s%d"]], "body": "%s"}, `+
			`"response": {"status": 201, "headers": [["Content-Type", "application/json"]], "body": "{\"ok\":true}", "duration_ms": 3}}`,
			i, i, i%100, body)
	}
	harRecord := func(i int) string {
		return fmt.Sprintf(`{"startedDateTime": "2026-11-20T10:00:00Z", "time": 3, "request": {"method": "POST", `+
			`"url": "https://shop.example.com/api/orders/%d", "headers": [{"name": "Content-Type", "value": "application/json"}], `+
			`"cookies": [], "postData": {"mimeType": "application/json", "text": "%s"}}, `+
			`"response": {"status": 201, "headers": [], "content": {"mimeType": "application/json", "text": "{\"ok\":true}"}}}`,
			i, body)
	}
	tests := []struct {
		name   string
		size   int64
		gen    *generator
		reader func(io.Reader, Options) Reader
	}{
		{"jsonl", 200 << 20, &generator{sep: "\n", tail: "\n", record: jsonlRecord}, newJSONL},
		{"har", 100 << 20, &generator{head: `{"log": {"version": "1.2", "entries": [`, sep: ",\n", tail: `]}}`, record: harRecord}, newHAR},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.gen.size = streamSize(tt.size)
			h := newHeapWatch()
			r := tt.reader(tt.gen, DefaultOptions())
			n := 0
			for {
				ex, err := r.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				if len(ex.Request.Body) != len(body)-strings.Count(body, `\`) {
					t.Fatalf("exchange %d: body of %d bytes", n, len(ex.Request.Body))
				}
				n++
				if n%2000 == 0 {
					h.sample()
				}
			}
			h.sample()
			if n != tt.gen.n || r.Malformed() != 0 {
				t.Fatalf("read %d exchanges (%d malformed), generated %d", n, r.Malformed(), tt.gen.n)
			}
			if r.Offset() != tt.gen.written {
				t.Errorf("offset %d, generated %d bytes", r.Offset(), tt.gen.written)
			}
			// A few MiB of garbage between collections is normal; a reader
			// that kept what it read would grow by the whole input.
			if g := h.growth(); g > 32<<20 {
				t.Errorf("heap grew by %d MiB reading %d MiB", g>>20, tt.gen.written>>20)
			}
			t.Logf("%d exchanges, %d MiB read, heap growth %.1f MiB", n, tt.gen.written>>20, float64(h.growth())/(1<<20))
		})
	}
}

// TestHugeLineNotBuffered feeds one line far over the limit between two
// good ones: it is skipped, and memory stays near the limit, not the line.
func TestHugeLineNotBuffered(t *testing.T) {
	const limit = 1 << 20
	chunk := strings.Repeat("x", 64<<10)
	h := newHeapWatch()
	huge := &generator{
		head:   `{"id": "huge", "request": {"method": "POST", "url": "/", "body": "`,
		tail:   `"}}` + "\n",
		record: func(int) string { return chunk },
		size:   64 << 20, // scanning for a newline is fast even under -race
		onRead: h.sample,
	}
	good := `{"id": "ok", "request": {"method": "GET", "url": "/"}}` + "\n"
	in := io.MultiReader(strings.NewReader(good), huge, strings.NewReader(good))
	var bad []int64
	r := NewJSONLReader(in, Options{MaxRecordBytes: limit, OnError: func(pos int64, err error) {
		bad = append(bad, pos)
	}})
	var ids []string
	for {
		ex, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, ex.ID)
	}
	if len(ids) != 2 || len(bad) != 1 || bad[0] != 2 || r.Pos() != 3 {
		t.Fatalf("ids %v, bad lines %v, pos %d; want two exchanges and line 2 bad", ids, bad, r.Pos())
	}
	// The line buffer grows by doubling up to the limit: a few times the
	// limit at most, against 64 MiB for a reader that held the line.
	if g := h.growth(); g > 6*limit {
		t.Errorf("heap grew by %.1f MiB for a %d MiB line with a 1 MiB limit", float64(g)/(1<<20), huge.written>>20)
	}
	t.Logf("heap growth %.1f MiB for a %d MiB line", float64(h.growth())/(1<<20), huge.written>>20)
}
