package capture

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"testing"

	"github.com/apisessions/apisessions"
)

// benchLines is a JSON-lines input of realistic exchanges (the SPEC example
// with a ~1 KB JSON body).
func benchInput(jsonl bool) []byte {
	body := strings.Repeat(`{\"sku\":\"A-1\",\"qty\":1}`, 45)
	var b bytes.Buffer
	if !jsonl {
		b.WriteString(`{"log": {"version": "1.2", "entries": [`)
	}
	for i := 0; i < 1000; i++ {
		if jsonl {
			b.WriteString(strings.Replace(specLine, `{\"username\":\"alice\",\"password\":\"s3cret\"}`, body, 1))
			b.WriteByte('\n')
			continue
		}
		if i > 0 {
			b.WriteString(",\n")
		}
		b.WriteString(strings.Replace(chromeEntry, `{\"username\":\"alice\"}`, body, 1))
	}
	if !jsonl {
		b.WriteString(`]}}`)
	}
	return b.Bytes()
}

func benchReader(b *testing.B, input []byte, newReader func(io.Reader, Options) Reader) {
	b.SetBytes(int64(len(input)))
	b.ReportAllocs()
	for b.Loop() {
		r := newReader(bytes.NewReader(input), DefaultOptions())
		n := 0
		for {
			_, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		if n != 1000 {
			b.Fatalf("%d exchanges", n)
		}
	}
}

func BenchmarkJSONLReader(b *testing.B) { benchReader(b, benchInput(true), newJSONL) }

func BenchmarkHARReader(b *testing.B) { benchReader(b, benchInput(false), newHAR) }

// BenchmarkBaselineJSONLAny is what the plainest reader would cost: split
// lines with bufio.Scanner and decode each into any with encoding/json.
func BenchmarkBaselineJSONLAny(b *testing.B) {
	input := benchInput(true)
	b.SetBytes(int64(len(input)))
	b.ReportAllocs()
	for b.Loop() {
		sc := bufio.NewScanner(bytes.NewReader(input))
		sc.Buffer(nil, DefaultMaxRecordBytes)
		n := 0
		for sc.Scan() {
			var v any
			if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
				b.Fatal(err)
			}
			n++
		}
		if n != 1000 {
			b.Fatalf("%d lines", n)
		}
	}
}

// BenchmarkParseJSONL decodes the lines of the reader benchmark with the
// fast decoder and, as the baseline, with encoding/json alone.
func BenchmarkParseJSONL(b *testing.B) {
	lines := bytes.Split(bytes.TrimSuffix(benchInput(true), []byte("\n")), []byte("\n"))
	for _, bc := range []struct {
		name  string
		parse func([]byte) (*apisessions.Exchange, error)
	}{{"fast", ParseJSONL}, {"encoding-json", decodeJSONLine}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				for _, l := range lines {
					if _, err := bc.parse(l); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(lines)), "ns/line")
		})
	}
}
