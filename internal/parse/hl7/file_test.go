package hl7

import (
	"os"
	"strings"
	"testing"

	"github.com/vigil-siem/vigil/internal/event"
)

func TestEventsFromFile(t *testing.T) {
	a, _ := os.ReadFile("testdata/adt_a01.hl7")
	b, _ := os.ReadFile("testdata/adt_a40.hl7")
	data := "junk\n" + string(a) + "\n\n\x0b" + string(b) + "\x1c\rMSH|^~\\&|X|Y|Z|W|2024||ADT^A01||P|2.5\n"
	if n := len(SplitMessages([]byte(data))); n != 3 {
		t.Fatalf("got %d messages, want 3", n)
	}
	evs, errs := Events([]byte(data), Limits{}, EventOptions{Now: fixedNow})
	if len(evs) != 3 || len(errs) != 1 {
		t.Fatalf("got %d events, %d errors, want 3 and 1", len(evs), len(errs))
	}
	if evs[1].Value("event.action") != "adt-a40" || !strings.Contains(evs[2].Value(event.FieldParseError), "message 3: hl7: MSH-10") {
		t.Errorf("got %v / %v", evs[1].Value("event.action"), evs[2].Value(event.FieldParseError))
	}
}
