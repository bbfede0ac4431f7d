package firewall

import (
	"bufio"
	"bytes"
	"flag"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/parse/syslog"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// apply runs Detect and Parse on a syslog event, as normalize does.
func apply(e *event.Event, opt Options) (Dialect, error) {
	d := Detect(e.Value("process.name"), e.Value("log.syslog.msgid"), e.Value("message"))
	if d == None {
		return d, nil
	}
	return d, Parse(e, d, e.Value("log.syslog.msgid"), e.Value("message"), opt)
}

// TestGolden: testdata/samples.txt through the syslog parser and the
// firewall parsers, compared with testdata/samples.golden.
func TestGolden(t *testing.T) {
	data, err := os.ReadFile("testdata/samples.txt")
	if err != nil {
		t.Fatal(err)
	}
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skipf("no time zone database: %v", err)
	}
	sp := &syslog.Parser{Location: berlin, Now: func() time.Time { return time.Date(2024, 12, 1, 0, 0, 0, 0, time.UTC) }}
	var out bytes.Buffer
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		var e event.Event
		if err := sp.Parse([]byte(line), &e); err != nil {
			t.Fatalf("%q: syslog: %v", line, err)
		}
		d, err := apply(&e, Options{Location: berlin})
		out.WriteString("# " + line + "\n")
		if err != nil {
			out.WriteString(string(d) + " error: " + err.Error() + "\n")
			continue
		}
		if d == None {
			t.Errorf("%q: no dialect detected", line)
		}
		e.SortFields()
		out.WriteString(string(d) + " ")
		out.Write(event.AppendJSON(nil, &e))
		out.WriteString("\n")
	}
	golden := "testdata/samples.golden"
	if *update {
		if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (go test -update writes it)", err)
	}
	g, w := strings.Split(out.String(), "\n"), strings.Split(string(want), "\n")
	for i := range max(len(g), len(w)) {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			t.Fatalf("%s line %d differs:\ngot  %s\nwant %s", golden, i+1, gl, wl)
		}
	}
}
