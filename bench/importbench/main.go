// Command importbench measures `apisessions import` on generated traffic
// against its floor, in one run so that the ratio holds on a noisy machine.
//
// The floor is the same import with --dry-run: reading the file, evaluating
// every point, grouping, hashing and building the export records, with no
// store. The import adds the embedded store. Both run with detection off.
//
// The machine may be shared, so besides wall-clock rates it reports CPU
// time (user + sys of the child, from rusage), which other load does not
// inflate much, and peak RSS. With -small it also measures a smaller file,
// to show that peak memory does not grow with the file.
//
//	go run ./bench/importbench -exchanges 1000000 -sessions 50000 -small 100000
package main

import (
	"flag"
	"fmt"
	"io/fs"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	exchanges := flag.Int("exchanges", 1_000_000, "exchanges to generate")
	sessions := flag.Int("sessions", 50_000, "sessions to generate")
	small := flag.Int("small", 0, "also measure a file of this many exchanges (sessions scaled alike), to compare peak memory; 0: no")
	runs := flag.Int("runs", 1, "runs of each measurement; the best is reported")
	keep := flag.Bool("keep", false, "keep the work directory")
	flag.Parse()

	work, err := os.MkdirTemp("", "importbench")
	must(err)
	if !*keep {
		defer os.RemoveAll(work)
	}
	bin := filepath.Join(work, "apisessions")
	must(run("go", "build", "-o", bin, "./cmd/apisessions"))
	sizes := []int{*exchanges}
	if *small > 0 {
		sizes = append(sizes, *small)
	}
	for _, n := range sizes {
		s := max(1, int(int64(*sessions)*int64(n)/int64(*exchanges)))
		bench(bin, filepath.Join(work, fmt.Sprint(n)), n, s, *runs)
	}
}

// bench generates n exchanges in dir and measures the floor and the import.
func bench(bin, dir string, n, sessions, runs int) {
	must(os.MkdirAll(dir, 0o755))
	traffic := filepath.Join(dir, "traffic.jsonl")
	// Start the traffic an hour ago so that nothing is too old to store.
	start := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	t0 := time.Now()
	must(run(bin, "generate", "--exchanges", fmt.Sprint(n), "--sessions", fmt.Sprint(sessions),
		"--start", start, "--attacks", "0.01", "-o", traffic))
	fi, err := os.Stat(traffic)
	must(err)
	fmt.Printf("generated %d exchanges (%d sessions), %.0f MB, in %v\n", n, sessions, float64(fi.Size())/1e6, time.Since(t0).Round(time.Millisecond))

	config := "examples/config.yaml"
	var floor, imp measurement
	for i := 0; i < runs; i++ {
		floor = best(floor, measure(bin, "import", "--dry-run", "--detect", "off", "--data", filepath.Join(dir, "dry"), "--config", config, traffic))
		data := filepath.Join(dir, fmt.Sprint("data", i))
		m := measure(bin, "import", "--detect", "off", "--data", data, "--config", config, traffic)
		m.storeBytes = dirSize(data)
		imp = best(imp, m)
	}
	x := float64(n)
	for _, r := range []struct {
		name string
		m    measurement
	}{{"floor  (read + points + sessionize, no store)", floor}, {"import (same + embedded SQLite store)        ", imp}} {
		fmt.Printf("%s: %8.0f exchanges/s  %6.2f s wall  %6.2f s CPU (%7.0f exchanges/CPU-s)  peak RSS %4d MB (anonymous %4d MB)\n",
			r.name, x/r.m.wall.Seconds(), r.m.wall.Seconds(), r.m.cpu.Seconds(), x/r.m.cpu.Seconds(), r.m.maxRSS>>20, r.m.maxAnon>>20)
	}
	fmt.Printf("import / floor: %.2fx wall, %.2fx CPU; store %.0f bytes per exchange (%d MB)\n",
		imp.wall.Seconds()/floor.wall.Seconds(), imp.cpu.Seconds()/floor.cpu.Seconds(), float64(imp.storeBytes)/x, imp.storeBytes>>20)
}

type measurement struct {
	wall       time.Duration
	cpu        time.Duration // user + sys
	maxRSS     int64
	maxAnon    int64 // sampled: a lower bound
	storeBytes int64
}

func best(a, b measurement) measurement {
	if a.wall == 0 || b.wall < a.wall {
		return b
	}
	return a
}

func measure(name string, args ...string) measurement {
	cmd := exec.Command(name, args...)
	cmd.Stdout = os.Stdout
	cmd.Stderr = os.Stderr
	t0 := time.Now()
	must(cmd.Start())
	// Peak RSS counts the pages of the store file that SQLite maps
	// (mmap_size) and has touched, which grow with the store but are the
	// kernel's page cache; the anonymous part is the process's own memory.
	done := make(chan struct{})
	anon := make(chan int64)
	go func() {
		var peak int64
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			peak = max(peak, rssAnon(cmd.Process.Pid))
			select {
			case <-done:
				anon <- peak
				return
			case <-tick.C:
			}
		}
	}()
	err := cmd.Wait()
	wall := time.Since(t0)
	close(done)
	peakAnon := <-anon
	must(err)
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	cpu := time.Duration(syscall.TimevalToNsec(ru.Utime) + syscall.TimevalToNsec(ru.Stime))
	return measurement{wall: wall, cpu: cpu, maxRSS: ru.Maxrss * 1024, maxAnon: peakAnon}
}

// rssAnon returns the anonymous resident memory of a process (Linux), or 0.
func rssAnon(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "RssAnon:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

func run(name string, args ...string) error {
	cmd := exec.Command(name, args...)
	cmd.Stdout = os.Stderr
	cmd.Stderr = os.Stderr
	return cmd.Run()
}

func dirSize(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

func must(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
