package fdlimit

import (
	"fmt"
	"os"
	"testing"
)

func TestRaiseAndFit(t *testing.T) {
	l, err := Raise()
	if err != nil {
		t.Fatal(err)
	}
	if l.Soft != l.Hard && l.Hard < 1<<40 {
		t.Errorf("soft %d not raised to hard %d", l.Soft, l.Hard)
	}
	f := func(soft uint64, http, syslog, mllp int, want string) {
		t.Helper()
		l := Limits{Soft: soft, Reserve: reserveFor(soft)}
		got := l.Fit(Share{"http", &http}, Share{"syslog", &syslog}, Share{"mllp", &mllp})
		if fmt.Sprint(got) != want || http+syslog+mllp > max(l.Connections(), 48) {
			t.Errorf("soft %d: %v (%d, %d, %d; budget %d), want %s", soft, got, http, syslog, mllp, l.Connections(), want)
		}
	}
	f(1<<20, 4096, 4096, 256, "[]")
	f(20000, 4096, 4096, 256, "[]")                                                    // 15,000 for connections
	f(4096, 4096, 4096, 256, "[http: 4096 → 1489 syslog: 4096 → 1489 mllp: 256 → 93]") // 3,072 for connections
	f(1024, 4096, 4096, 256, "[http: 4096 → 248 syslog: 4096 → 248 mllp: 256 → 16]")
	if r := reserveFor(100); r != 50 {
		t.Errorf("reserve of 100: %d", r)
	}
}

func TestHeadroom(t *testing.T) {
	before := Headroom()
	if before <= 0 {
		t.Skipf("headroom unknown here (%d)", before)
	}
	var fs []*os.File
	for range 10 {
		f, err := os.Open(os.DevNull)
		if err != nil {
			t.Fatal(err)
		}
		fs = append(fs, f)
	}
	if got := Headroom(); got != before-10 {
		t.Errorf("headroom %d after opening 10 files, want %d", got, before-10)
	}
	for _, f := range fs {
		f.Close()
	}
}
