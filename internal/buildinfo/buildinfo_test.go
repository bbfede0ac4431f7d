package buildinfo

import (
	"runtime"
	"strings"
	"testing"
)

func TestRead(t *testing.T) {
	i := Read()
	if i.Version == "" || i.GoVersion != runtime.Version() {
		t.Fatalf("%+v", i)
	}
	if s := i.String(); !strings.Contains(s, i.Version) || !strings.Contains(s, runtime.Version()) {
		t.Fatalf("String() = %q", s)
	}
	version = "9.9.9"
	defer func() { version = "" }()
	if got := Read().Version; got != "9.9.9" {
		t.Fatalf("ldflags version: got %q", got)
	}
}
