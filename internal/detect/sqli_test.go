package detect

import (
	"strings"
	"testing"

	"github.com/corazawaf/libinjection-go"
)

// sqliBenign are values of benign API traffic: enum values, ids, numbers,
// timestamps, emails, names, free text, URLs and paths.
var sqliBenign = []string{
	// Enum values, booleans, codes.
	"active", "pending", "PENDING_REVIEW", "en_US", "true", "false", "admin", "desc", "EUR", "GET", "de-DE",
	"in progress", "gzip, deflate", "no-cache", "application/json", "max-age=0", "en-US,en;q=0.9",
	// Ids, tokens, hashes.
	"12345", "usr_8f7a6b2c", "a1b2c3d4", "550e8400-e29b-41d4-a716-446655440000", "5f3c9a1be2d84c0a", "sku_12345",
	"ORD-2024-000123", "eyJhbGciOiJIUzI1NiJ9", "d41d8cd98f00b204e9800998ecf8427e", "SGVsbG8gV29ybGQ=", "Bearer abc123",
	"tok_1NqzX2Lk9s", "0x5aFe", "3fa85f64-5717-4562-b3fc-2c963f66afa6",
	// Numbers.
	"42", "3.14", "-5", "1e10", "0.5", "1,234.56", "100%", "-74.0060", "40.7128,-74.0060", "+1 555 123 4567", "007",
	// Timestamps, dates, times, versions, addresses.
	"2024-01-15T10:30:00Z", "2024-01-15T10:30:00.123+02:00", "2024-01-15", "15/01/2024", "10:30", "1705314600",
	"2024-01-15 10:30:00", "v1.2.3", "1.0", "2.5.1", "192.168.0.1", "fe80::1ff:fe23:4567:890a",
	// Emails.
	"john.doe@example.com", "jdoe42@mail.example.org", "support@company.io", "jane_smith@example.co.uk",
	"first.last+tag@gmail.com", "o'brien@example.com", "info@my-company.com",
	// Names.
	"John", "John Smith", "Mary Ann Smith", "Jos\u00e9 Garc\u00eda", "\u674e\u5c0f\u9f99", "Zo\u00eb", "Dr. Jane Doe",
	// Free text.
	"hello world", "Great product, would buy again!", "Please deliver after 5pm.", "I can't log in",
	"The order arrived late and the box was damaged.", "Thanks!", "Call me back tomorrow",
	// URLs, hosts, paths, files.
	"https://example.com/path?x=1", "/api/v1/users/123", "example.com", "www.example.com", "image.png",
	"/static/app.min.js", "Mozilla/5.0 (X11; Linux x86_64)",
}

// sqliAttacks are SQL injections and values next to the plain kinds of
// isSQLi, flagged by libinjection or not.
var sqliAttacks = []string{
	"1 or 1", "1' or '1'='1", "admin'--", "1 union select 1", "-1", "1;", "' or ''='", "select", "union", "sleep(5)",
	"1)or(1", "0x31", "1e1", "1 or 1=1", "x union select", "1 union", "null union", "1union", "0b12union", "1eunion",
	"1--", "1#", "1/*", "1/*!union*/", "\"1\" or 1", "1-dec.1-", "1-dec 1-", "1-distinct 1-", "union.1eselect@x",
	"1.not@x", "1is@x", "0xor@x", "1.union.1eselect", "1-@x", "1HAVING 1", "' union select password from users--",
	"1; drop table users", "@@version", "1 and sleep(5)", "admin' #", "1' waitfor delay '0:0:5'--", "\x00", "\xff\xfe",
	"\u017felect", "in.union.select", "or.union.select", "1e--5", "{``", "1 /*x*/", "x\u00a0union select", "dec", "date",
}

func TestIsSQLi(t *testing.T) {
	checkShortCut(t, "isSQLi", append(append([]string{""}, sqliBenign...), sqliAttacks...), isSQLi, sqliRef)
	skipped := 0
	var kept []string
	for _, s := range sqliBenign {
		if sqliPlain(s) {
			skipped++
		} else {
			kept = append(kept, s)
		}
	}
	t.Logf("the short cut skips %d of %d benign values (%.0f%%); runs libinjection on %q",
		skipped, len(sqliBenign), 100*float64(skipped)/float64(len(sqliBenign)), kept)
}

// FuzzIsSQLi checks that skipping libinjection on plain values never
// changes its answer.
func FuzzIsSQLi(f *testing.F) {
	for _, s := range sqliBenign {
		f.Add(s)
	}
	for _, s := range sqliAttacks {
		f.Add(s)
	}
	f.Add(strings.Repeat("a", 40) + "." + strings.Repeat("b", 40) + "@" + strings.Repeat("c", 40))
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := isSQLi(s), sqliRef(s); got != want {
			t.Fatalf("%q: isSQLi %v, libinjection %v", s, got, want)
		}
	})
}

func sqliRef(s string) bool {
	res, _ := libinjection.IsSQLi(s)
	return res
}

// sqliTraffic is a mix of benign API values, weighted towards the short
// ones that dominate JSON bodies.
var sqliTraffic = []string{
	"active", "pending", "en_US", "true", "12345", "usr_8f7a6b2c", "42", "3.14", "EUR",
	"550e8400-e29b-41d4-a716-446655440000", "2024-01-15T10:30:00Z", "2024-01-15", "john.doe@example.com",
	"jdoe42@mail.example.org", "John Smith", "Jos\u00e9 Garc\u00eda", "hello world", "Great product, would buy again!",
	"The order arrived late and the box was damaged.", "https://example.com/path?x=1", "/api/v1/users/123",
	"image.png", "d41d8cd98f00b204e9800998ecf8427e", "in progress",
}

func BenchmarkIsSQLi(b *testing.B) {
	for _, bc := range []struct {
		name string
		fn   func(string) bool
	}{{"isSQLi", isSQLi}, {"libinjection", sqliRef}} {
		b.Run(bc.name, func(b *testing.B) {
			n := 0
			for i := 0; b.Loop(); i++ {
				if bc.fn(sqliTraffic[i%len(sqliTraffic)]) {
					n++
				}
			}
			if n != 0 {
				b.Fatalf("%d benign values flagged", n)
			}
		})
	}
}
