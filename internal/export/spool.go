package export

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// The spool is a directory of encoded batches, one file each, named
// "<unix nanos>-<batch id>-<records>.batch" so that the oldest sorts first
// and the record count of a dropped batch can be counted without reading
// it. Files are written under a temporary name and renamed, so a crash
// leaves either a whole batch or a *.tmp file, which the next start removes.

const spoolExt = ".batch"

func spoolName(unixNanos int64, id string, records int) string {
	return fmt.Sprintf("%020d-%s-%d%s", unixNanos, id, records, spoolExt)
}

// parseSpoolName returns the batch ID and record count of a spool file
// name, and false for any other file.
func parseSpoolName(name string) (id string, records int, ok bool) {
	base, found := strings.CutSuffix(name, spoolExt)
	if !found {
		return "", 0, false
	}
	parts := strings.Split(base, "-")
	if len(parts) != 3 || len(parts[0]) != 20 || len(parts[1]) != 32 {
		return "", 0, false
	}
	nanos, err := strconv.ParseInt(parts[0], 10, 64)
	if err != nil || nanos < 0 {
		return "", 0, false
	}
	n, err := strconv.Atoi(parts[2])
	if err != nil || n < 0 {
		return "", 0, false
	}
	for _, c := range parts[1] {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return "", 0, false
		}
	}
	// Only the exact spelling spoolName makes ("+1", "007" are not).
	if spoolName(nanos, parts[1], n) != name {
		return "", 0, false
	}
	return parts[1], n, true
}

// loadSpool lists the batches left in dir by an earlier run, oldest first,
// and removes temporary files of interrupted writes.
func loadSpool(dir string) ([]*job, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create spool: %w", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read spool: %w", err)
	}
	var jobs []*job
	for _, de := range entries {
		name := de.Name()
		if !de.Type().IsRegular() {
			continue
		}
		if strings.HasSuffix(name, ".tmp") {
			os.Remove(filepath.Join(dir, name))
			continue
		}
		id, n, ok := parseSpoolName(name)
		if !ok {
			continue
		}
		info, err := de.Info()
		if err != nil {
			continue
		}
		jobs = append(jobs, &job{id: id, records: n, path: filepath.Join(dir, name), size: info.Size()})
	}
	slices.SortFunc(jobs, func(a, b *job) int { return strings.Compare(a.path, b.path) })
	return jobs, nil
}

// writeSpoolFile writes data to dir under name, atomically.
func writeSpoolFile(dir, name string, data []byte) (string, error) {
	f, err := os.CreateTemp(dir, "spool-*.tmp")
	if err != nil {
		return "", fmt.Errorf("spool batch: %w", err)
	}
	tmp := f.Name()
	_, werr := f.Write(data)
	// Sync: a spooled batch is one the server has not got, so it must
	// survive a power cut as well as a restart.
	if werr == nil {
		werr = f.Sync()
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("spool batch: %w", werr)
	}
	path := filepath.Join(dir, name)
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("spool batch: %w", err)
	}
	return path, nil
}
