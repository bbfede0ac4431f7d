package mllpin

import (
	"strings"
	"testing"

	"github.com/vigil-siem/vigil/internal/bus"
	"github.com/vigil-siem/vigil/internal/event"
)

// phi are values of the test messages that identify the patient; none of
// them may reach Vigil's own log.
var phi = []string{
	"DOE", "JOHN", "JANE", "MRN10001", "MRN99999", "999-88-7777", "19610615", "1961X615", "MAIN ST", "SPRINGFIELD",
	"5550101", "john.doe@example.org", "TOPSECRETNOTE",
}

func TestNoPHIInLogs(t *testing.T) {
	e := setup(t, bus.Config{}, func(c *Config) { c.MaxFrameBytes = 4096; c.KeepOriginal = true })
	c := dial(t, e.srv.Addr().String())
	nk1 := "NK1|1|DOE^JANE|SPO|123 MAIN ST^^SPRINGFIELD|^PRN^PH^^1^217^5550101~^NET^Internet^john.doe@example.org"
	sent := []struct{ msg, code string }{
		{msg("ADT^A01^ADT_A01", "P1", evnA01, pidDoe, nk1, pv1Doe), "AA"},
		// A birth date that is not a date: the ADT content error quotes it.
		{msg("ADT^A08^ADT_A01", "P2", "EVN|A08|20240312090000", strings.Replace(pidDoe, "19610615", "1961X615", 1), pv1Doe), "AE"},
		// No PID-3.
		{msg("ADT^A08^ADT_A01", "P3", "PID|1||||DOE^JOHN||19610615"), "AE"},
		// A broken segment holding a note.
		{msg("ADT^A01^ADT_A01", "P4", pidDoe, "N\rTOPSECRETNOTE DOE JOHN"), "AE"},
		// Identifiers of another patient (a directory warning).
		{msg("ADT^A28^ADT_A05", "P5", "PID|1||MRN77777^^^GENHOSP^MR||ROE^RICHARD"), "AA"},
		{msg("ADT^A31^ADT_A05", "P6", "PID|1||MRN77777^^^GENHOSP^MR~MRN10001^^^GENHOSP^MR||DOE^JOHN"), "AA"},
		{msg("ADT^A40^ADT_A39", "P7", "PID|1||MRN10001^^^GENHOSP^MR||DOE^JOHN", "MRG|MRN99999^^^GENHOSP^MR"), "AA"},
		// Not HL7; too large.
		{"DOE JOHN 19610615 MRN10001", "AR"},
		{msg("ADT^A01", "P9", pidDoe, "NTE|1||"+strings.Repeat("TOPSECRETNOTE ", 400)), "AR"},
	}
	for _, s := range sent {
		c.send(s.msg)
		if code, _, _ := c.ack(); code != s.code && !(s.code == "AE" && code == "AR") {
			t.Fatalf("%.40q answered %s, want %s", s.msg, code, s.code)
		}
	}
	if _, err := c.c.Write([]byte("DOE JOHN MRN10001 outside a frame\r")); err != nil {
		t.Fatal(err)
	}
	c.send(msg("ADT^A28^ADT_A05", "P10", pidDoe))
	c.expect("AA", "P10")
	evs := e.events(t, len(sent)) // the too-large one is not stored; P10 is

	// The events do carry the PHI (so the test exercises it) …
	var all strings.Builder
	for i := range evs {
		all.Write(event.AppendJSON(nil, &evs[i]))
	}
	if !strings.Contains(all.String(), "MRN10001") || !strings.Contains(all.String(), "1961X615") {
		t.Fatal("the events do not hold the test's PHI: the test proves nothing")
	}
	// … the log does not.
	logs := e.logs.String()
	if !strings.Contains(logs, "hl7 ADT content refused") || !strings.Contains(logs, "mllp framing problem") || !strings.Contains(logs, "warnings") {
		t.Fatalf("log capture incomplete:\n%s", logs)
	}
	for _, s := range phi {
		if strings.Contains(logs, s) {
			t.Errorf("log holds PHI %q:\n%s", s, logs)
		}
	}
}
