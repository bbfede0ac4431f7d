package main

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// render runs the summary over input and returns what it printed (the
// test output, then the summary) and its exit status.
func render(t *testing.T, input string) (body, sum string, code int) {
	t.Helper()
	var out strings.Builder
	s := newSummary(&out, "exp/")
	if err := s.read(strings.NewReader(input)); err != nil {
		t.Fatal(err)
	}
	code = s.finish()
	// The summary follows an empty line.
	o := out.String()
	if strings.HasPrefix(o, "\n") {
		return "", o[1:], code
	}
	body, sum, _ = strings.Cut(o, "\n\n")
	return body, sum, code
}

func readTestdata(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// testdata/failing.json is `go test -json -timeout 3s ./...` over four
// packages: a (a pass, a skip with a two-line reason, a failure, subtests
// that skip, fail and pass, parallel subtests), b (passes), c (does not
// compile) and d (times out); the timeout's goroutine dump is cut short.
func TestFailingRun(t *testing.T) {
	body, sum, code := render(t, readTestdata(t, "failing.json"))
	if code != 1 {
		t.Errorf("exit status %d, want 1", code)
	}
	// What go test without -json shows, in order.
	wantBody := `# exp/c [exp/c.test]
c/c_test.go:5:33: undefined: undefined
    a_test.go:7: log
    a_test.go:7: bad
--- FAIL: TestFail (0.00s)
    a_test.go:10: sub failed
--- FAIL: TestSub/two (0.00s)
--- FAIL: TestSub (0.00s)
FAIL
FAIL	exp/a	0.099s
ok  	exp/b	0.017s
FAIL	exp/c [build failed]
    d_test.go:5: about to hang
panic: test timed out after 3s
	running tests:
		TestHang (3s)
--- FAIL: TestHang (did not finish)
FAIL	exp/d	3.077s`
	if body != wantBody {
		t.Errorf("output:\n%s\nwant:\n%s", body, wantBody)
	}
	wantSum := `SKIPPED 2:
  a  TestSkip     a_test.go:6: no program: install it second line
  a  TestSub/one  a_test.go:9: sub skipped
FAILED 4:
  a  TestFail
  a  TestSub/two
  c  [build failed]
  d  TestHang
12 tests: 6 passed, 4 failed, 2 skipped; 4 packages (0 without tests)
`
	if sum != wantSum {
		t.Errorf("summary:\n%s\nwant:\n%s", sum, wantSum)
	}
}

// testdata/passing.json: a package without tests, and one with a passing
// test that logs, a skip without a reason and a skip with one.
func TestPassingRun(t *testing.T) {
	body, sum, code := render(t, readTestdata(t, "passing.json"))
	if code != 0 {
		t.Errorf("exit status %d, want 0", code)
	}
	if want := "?   \texp/e\t[no test files]\nok  \texp/f\t0.014s"; body != want {
		t.Errorf("output:\n%s\nwant:\n%s", body, want)
	}
	wantSum := `SKIPPED 2:
  f  TestSkipNoReason  (no reason given)
  f  TestSkipExternal  f_test.go:7: rsyslogd not installed: apt-get install rsyslog
3 tests: 1 passed, 0 failed, 2 skipped; 2 packages (1 without tests)
`
	if sum != wantSum {
		t.Errorf("summary:\n%s\nwant:\n%s", sum, wantSum)
	}
}

// events renders go test -json lines.
func events(evs ...string) string {
	var b strings.Builder
	for _, e := range evs {
		b.WriteString(e + "\n")
	}
	return b.String()
}

func TestNoResult(t *testing.T) {
	// Nothing, or only text that is not go test -json (an error of go
	// itself), is a failure: no test ran.
	for _, in := range []string{"", "go: cannot find main module\n"} {
		body, sum, code := render(t, in)
		if code != 1 || !strings.Contains(sum, "no package result in the input") || !strings.Contains(body, strings.TrimSpace(in)) {
			t.Errorf("input %q: exit %d, output %q %q", in, code, body, sum)
		}
	}
}

func TestPackageFailsOutsideTests(t *testing.T) {
	// TestMain exits 1 after the tests passed.
	_, sum, code := render(t, events(
		`{"Action":"run","Package":"exp/m","Test":"TestA"}`,
		`{"Action":"output","Package":"exp/m","Test":"TestA","Output":"=== RUN   TestA\n"}`,
		`{"Action":"output","Package":"exp/m","Test":"TestA","Output":"--- PASS: TestA (0.00s)\n"}`,
		`{"Action":"pass","Package":"exp/m","Test":"TestA"}`,
		`{"Action":"output","Package":"exp/m","Output":"FAIL\texp/m\t0.01s\n"}`,
		`{"Action":"fail","Package":"exp/m"}`))
	if code != 1 || !strings.Contains(sum, "FAILED 1:\n  m  [failed outside its tests]\n") {
		t.Errorf("exit %d, summary:\n%s", code, sum)
	}
}

func TestLongOutputBounded(t *testing.T) {
	n := maxLines * 3
	evs := []string{`{"Action":"run","Package":"exp/l","Test":"TestLong"}`}
	for i := range n {
		evs = append(evs, fmt.Sprintf(`{"Action":"output","Package":"exp/l","Test":"TestLong","Output":"    l_test.go:1: line %d\n"}`, i))
	}
	evs = append(evs, `{"Action":"output","Package":"exp/l","Test":"TestLong","Output":"--- FAIL: TestLong (1.00s)\n"}`,
		`{"Action":"fail","Package":"exp/l","Test":"TestLong"}`,
		`{"Action":"output","Package":"exp/l","Output":"FAIL\texp/l\t1.0s\n"}`,
		`{"Action":"fail","Package":"exp/l"}`)
	body, _, code := render(t, events(evs...))
	lines := strings.Split(body, "\n")
	if code != 1 || len(lines) > maxLines+3 {
		t.Fatalf("exit %d, %d lines printed of %d, want at most %d", code, len(lines), n, maxLines+3)
	}
	for _, want := range []string{"line 0\n", fmt.Sprintf("line %d\n", headLines-1), "lines omitted]\n", fmt.Sprintf("line %d\n", n-1), "--- FAIL: TestLong"} {
		if !strings.Contains(body, want) {
			t.Errorf("output lacks %q", want)
		}
	}
}

// TestCIRunsTheReadmeCommand: .ci/run runs exactly the README's test
// command, which goes through this program.
func TestCIRunsTheReadmeCommand(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "## Run the tests\n\n```sh\n")
	cmd, _, ok2 := strings.Cut(section, "\n```")
	if !ok || !ok2 || strings.Contains(cmd, "\n") {
		t.Fatalf("README.md: no one-line command in a sh block under \"## Run the tests\"")
	}
	ci, err := os.ReadFile("../../.ci/run")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(ci)), "\n")
	if last := lines[len(lines)-1]; last != cmd {
		t.Errorf(".ci/run ends with %q, the README's test command is %q", last, cmd)
	}
	if !strings.HasSuffix(cmd, "| go run ./cmd/testsummary") || !strings.Contains(string(ci), "set -euo pipefail") {
		t.Errorf("the test command %q must go through cmd/testsummary, in a shell with pipefail", cmd)
	}
}
