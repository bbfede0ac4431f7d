// Command testsummary reads the output of `go test -json` on standard input
// and prints what `go test` prints without -json (package results, build
// errors, the output of failed tests and of tests that never finished),
// then a summary: every skipped test with its reason, every failed test,
// and the counts. A run that silently skipped half the suite shows at the
// end of the log.
//
// It exits 1 when a test or a package failed, or when the input held no
// package result at all; 0 otherwise. .ci/run and the README run the suite
// through it:
//
//	go test -json -timeout 30m ./... | go run ./cmd/testsummary
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"slices"
	"strings"
	"text/tabwriter"
)

func main() {
	prefix := ""
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Path != "" {
		prefix = bi.Main.Path + "/"
	}
	s := newSummary(os.Stdout, prefix)
	if err := s.read(os.Stdin); err != nil {
		fmt.Fprintln(os.Stderr, "testsummary:", err)
		os.Exit(1)
	}
	os.Exit(s.finish())
}

// event is one line of `go test -json` (see `go doc test2json`).
type event struct {
	Action      string
	Package     string
	Test        string
	Output      string
	ImportPath  string // build-output, build-fail
	FailedBuild string
}

// Buffered output of one top-level test is bounded: past maxLines, lines
// after the first headLines are dropped (and counted) so the end, where a
// failure or a skip reason is, stays.
const (
	maxLines  = 20000
	headLines = 2000
)

// maxLine bounds one line of input.
const maxLine = 16 << 20

type line struct {
	test string // the (sub)test that wrote it
	text string
}

// running is a top-level test that has not ended, with its subtests.
type running struct {
	lines   []line
	omitted int
	outcome map[string]string // test name -> pass, fail, skip
}

func (r *running) add(l line) {
	if len(r.lines) >= maxLines {
		drop := maxLines / 2
		r.lines = append(r.lines[:headLines], r.lines[headLines+drop:]...)
		r.omitted += drop
	}
	r.lines = append(r.lines, l)
}

type testID struct{ pkg, test string }

type skip struct {
	testID
	reason string
}

type summary struct {
	w      io.Writer
	prefix string // trimmed from package paths in the summary
	run    map[testID]*running
	order  []testID // running top-level tests, in start order

	skips                   []skip
	failed                  []testID // failed tests; test "" for a package failed outside its tests
	passed, fails, skipped  int
	packages, noTests       int
	failure, sawPackageDone bool
}

func newSummary(w io.Writer, prefix string) *summary {
	return &summary{w: w, prefix: prefix, run: map[testID]*running{}}
}

func (s *summary) read(r io.Reader) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxLine)
	for sc.Scan() {
		var e event
		if b := sc.Bytes(); len(b) == 0 || b[0] != '{' || json.Unmarshal(b, &e) != nil || e.Action == "" {
			fmt.Fprintf(s.w, "%s\n", b) // not go test -json: pass it on
			continue
		}
		s.handle(e)
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("reading go test -json output: %w", err)
	}
	return nil
}

func topLevel(test string) string {
	if i := strings.IndexByte(test, '/'); i >= 0 {
		return test[:i]
	}
	return test
}

func (s *summary) handle(e event) {
	switch e.Action {
	case "build-output":
		io.WriteString(s.w, e.Output)
	case "build-fail":
		s.failure = true
	case "output":
		if e.Test != "" {
			id := testID{e.Package, topLevel(e.Test)}
			r := s.run[id]
			if r == nil {
				r = &running{outcome: map[string]string{}}
				s.run[id] = r
				s.order = append(s.order, id)
			}
			r.add(line{e.Test, e.Output})
			return
		}
		if strings.HasPrefix(e.Output, "FAIL") {
			// The package's verdict: tests still running have died
			// (a panic, a timeout); show what they wrote.
			s.flushUnfinished(e.Package)
		}
		if e.Output != "PASS\n" { // -json implies -v, which prints it
			io.WriteString(s.w, e.Output)
		}
	case "pass", "fail", "skip":
		if e.Test == "" {
			s.packageDone(e)
		} else {
			s.testDone(e)
		}
	}
}

func (s *summary) testDone(e event) {
	id := testID{e.Package, topLevel(e.Test)}
	r := s.run[id]
	if r == nil {
		r = &running{outcome: map[string]string{}}
	}
	r.outcome[e.Test] = e.Action
	switch e.Action {
	case "pass":
		s.passed++
	case "skip":
		s.skipped++
		s.skips = append(s.skips, skip{testID{e.Package, e.Test}, skipReason(r.lines, e.Test)})
	case "fail":
		s.fails++
		s.failure = true
		s.failed = append(s.failed, testID{e.Package, e.Test})
	}
	if e.Test != id.test {
		return
	}
	if e.Action == "fail" {
		s.print(r, false)
	}
	delete(s.run, id)
	s.order = slices.DeleteFunc(s.order, func(x testID) bool { return x == id })
}

func (s *summary) packageDone(e event) {
	s.flushUnfinished(e.Package)
	s.sawPackageDone = true
	s.packages++
	switch e.Action {
	case "skip":
		s.noTests++
	case "fail":
		s.failure = true
		if !slices.ContainsFunc(s.failed, func(x testID) bool { return x.pkg == e.Package }) {
			what := "[failed outside its tests]"
			if e.FailedBuild != "" {
				what = "[build failed]"
			}
			s.failed = append(s.failed, testID{e.Package, what})
		}
	}
}

// flushUnfinished prints the output of pkg's tests that never ended and
// counts them as failed.
func (s *summary) flushUnfinished(pkg string) {
	for _, id := range slices.Clone(s.order) {
		if id.pkg != pkg {
			continue
		}
		r := s.run[id]
		s.print(r, true)
		for _, l := range r.lines {
			if _, done := r.outcome[l.test]; !done && !slices.Contains(s.failed, testID{pkg, l.test}) {
				s.failed = append(s.failed, testID{pkg, l.test})
				s.fails++
			}
		}
		s.failure = true
		delete(s.run, id)
		s.order = slices.DeleteFunc(s.order, func(x testID) bool { return x == id })
	}
}

// print writes what go test without -v shows of a failed top-level test:
// its own lines and those of its failed or unfinished subtests, without
// the "=== RUN" (PAUSE, CONT, NAME) lines.
func (s *summary) print(r *running, unfinished bool) {
	top := ""
	for i, l := range r.lines {
		if i == 0 {
			top = topLevel(l.test)
		}
		if i == headLines && r.omitted > 0 {
			fmt.Fprintf(s.w, "    [testsummary: %d lines omitted]\n", r.omitted)
		}
		if strings.HasPrefix(l.text, "=== ") {
			continue
		}
		if o := r.outcome[l.test]; l.test == top || o == "fail" || o == "" {
			io.WriteString(s.w, l.text)
		}
	}
	if unfinished && top != "" {
		fmt.Fprintf(s.w, "--- FAIL: %s (did not finish)\n", top)
	}
}

// skipReason returns what test logged last before it was skipped: the
// message of t.Skip (with its continuation lines), or of the last t.Log.
func skipReason(lines []line, test string) string {
	var own []string
	for _, l := range lines {
		t := strings.TrimSpace(l.text)
		if l.test != test || t == "" || strings.HasPrefix(l.text, "=== ") || strings.HasPrefix(t, "--- ") {
			continue
		}
		own = append(own, l.text)
	}
	start := -1
	for i, t := range own {
		// A log entry starts "    file.go:12: ", continuation lines are
		// indented further.
		if strings.HasPrefix(t, "    ") && !strings.HasPrefix(t, "     ") {
			start = i
		}
	}
	if start < 0 {
		if len(own) == 0 {
			return "(no reason given)"
		}
		start = len(own) - 1
	}
	var parts []string
	for _, t := range own[start:] {
		parts = append(parts, strings.TrimSpace(t))
	}
	return strings.Join(parts, " ")
}

// finish prints the summary and returns the exit status.
func (s *summary) finish() int {
	for _, id := range slices.Clone(s.order) {
		s.flushUnfinished(id.pkg)
	}
	pkg := func(p string) string { return strings.TrimPrefix(p, s.prefix) }
	fmt.Fprintln(s.w)
	tw := tabwriter.NewWriter(s.w, 0, 8, 2, ' ', 0)
	if len(s.skips) > 0 {
		fmt.Fprintf(s.w, "SKIPPED %d:\n", len(s.skips))
		for _, sk := range s.skips {
			fmt.Fprintf(tw, "  %s\t%s\t%s\n", pkg(sk.pkg), sk.test, sk.reason)
		}
		tw.Flush()
	}
	// A failed test whose subtest failed is named through the subtest.
	var failed []testID
	for _, f := range s.failed {
		if !slices.ContainsFunc(s.failed, func(x testID) bool {
			return x.pkg == f.pkg && strings.HasPrefix(x.test, f.test+"/")
		}) {
			failed = append(failed, f)
		}
	}
	if len(failed) > 0 {
		fmt.Fprintf(s.w, "FAILED %d:\n", len(failed))
		for _, f := range failed {
			fmt.Fprintf(tw, "  %s\t%s\n", pkg(f.pkg), f.test)
		}
		tw.Flush()
	}
	fmt.Fprintf(s.w, "%d tests: %d passed, %d failed, %d skipped; %d packages (%d without tests)\n",
		s.passed+s.fails+s.skipped, s.passed, s.fails, s.skipped, s.packages, s.noTests)
	if !s.sawPackageDone {
		fmt.Fprintln(s.w, "no package result in the input: did go test -json run?")
		return 1
	}
	if s.failure {
		return 1
	}
	return 0
}
