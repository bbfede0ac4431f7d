package mllpin

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/vigil-siem/vigil/internal/bus"
	"github.com/vigil-siem/vigil/internal/directory"
	"github.com/vigil-siem/vigil/internal/parse/mllp"
)

// dialFrom connects from a given loopback address (127.0.0.0/8 is all
// loopback on Linux), or skips.
func dialFrom(t *testing.T, from, addr string) *client {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Skipf("cannot dial from %s on this machine: %v", from, err)
	}
	t.Cleanup(func() { c.Close() })
	return &client{t: t, c: c, r: mllp.NewReader(c, 0)}
}

// a08Attending is the attack of issue 10: an update naming an arbitrary
// user as the attending doctor of an existing stay.
const a08Attending = "PV1|1|I|4WEST^401^A^GENHOSP|E|||MALLORY^EVE||||||||||||V7000123^^^GENHOSP^VN"

// TestSendersNotAllowedAreRefused: with allow-lists of addresses and of
// MSH-3/MSH-4, the attack message from elsewhere is answered AR with the
// reason, counted, recorded without its content, and changes nothing.
func TestSendersNotAllowedAreRefused(t *testing.T) {
	e := setup(t, bus.Config{}, func(c *Config) {
		nets, err := ParseNets([]string{"127.0.0.2", "10.0.0.0/8"})
		if err != nil {
			t.Fatal(err)
		}
		c.AllowNets, c.AllowSenders = nets, []string{"EPIC^GENHOSP", "LAB^*"}
	})
	addr := e.srv.Addr().String()
	ctx := context.Background()

	// From 127.0.0.1, not in the list: AR naming the address, then closed.
	bad := dial(t, addr)
	bad.send(msg("ADT^A08^ADT_A01", "EVIL1", "EVN|A08|20240312090000", pidDoe, a08Attending))
	code, _, ack := bad.ack()
	if code != "AR" || !strings.Contains(ack.Raw, "not allowed") {
		t.Fatalf("from a sender address not allowed: %s %q, want AR with the reason", code, ack.Raw)
	}
	_ = bad.c.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := bad.c.Read(make([]byte, 1)); err == nil {
		t.Fatal("connection from an address not allowed left open")
	}

	// From an allowed address, with a sending application not allowed.
	good := dialFrom(t, "127.0.0.2", addr)
	good.send(strings.Replace(msg("ADT^A08^ADT_A01", "EVIL2", "EVN|A08|20240312090000", pidDoe, a08Attending), "|EPIC|GENHOSP|", "|ROGUE|GENHOSP|", 1))
	code, _, ack = good.ack()
	if code != "AR" || !strings.Contains(ack.Raw, "MSH-3") {
		t.Fatalf("from a sending application not allowed: %s %q, want AR naming MSH-3", code, ack.Raw)
	}
	if on, _ := e.dir.OnCareTeam(ctx, "MALLORY", "MRN10001", time.Time{}, 0); on {
		t.Fatal("a refused message put its attending on the care team")
	}
	// The allowed sender on the same connection: accepted.
	good.send(msg("ADT^A01^ADT_A01", "OK1", evnA01, pidDoe, pv1Doe))
	good.expect("AA", "OK1")
	lab := strings.Replace(msg("ORU^R01^ORU_R01", "OK2", pidDoe, "OBR|1"), "|EPIC|GENHOSP|", "|LAB|ANYWHERE|", 1)
	good.send(lab)
	good.expect("AA", "OK2")

	if got := testutil.ToFloat64(e.metrics.Refused.WithLabelValues(Source, ReasonAddress)); got != 1 {
		t.Errorf("refused for the address: %v, want 1", got)
	}
	if got := testutil.ToFloat64(e.metrics.Refused.WithLabelValues(Source, ReasonSender)); got != 1 {
		t.Errorf("refused for MSH-3/MSH-4: %v, want 1", got)
	}
	evs := e.events(t, 4)
	refused := 0
	for _, ev := range evs {
		if ev.Value("event.action") != "hl7-refused" {
			continue
		}
		refused++
		if ev.Has("healthcare.patient.id") || strings.Contains(ev.Value("message"), "DOE") || ev.Value("log.source.address") == "" {
			t.Errorf("refusal event keeps content or lacks the sender: %v", ev.Fields)
		}
	}
	if refused != 2 {
		t.Errorf("%d refusal events, want 2", refused)
	}
	if _, err := ParseSenders([]string{"*^*"}); err == nil {
		t.Error("a sender pattern allowing everyone was accepted")
	}
	if _, err := ParseNets([]string{"10.0.0.0/33"}); err == nil {
		t.Error("a bad prefix was accepted")
	}
}

// TestCareTeamChangesHaveProvenance: every membership names the message
// that made it, from whom, and when Vigil recorded it; a member added to
// an open stay is told apart from one added at admission.
func TestCareTeamChangesHaveProvenance(t *testing.T) {
	e := setup(t, bus.Config{}, nil)
	c := dial(t, e.srv.Addr().String())
	c.send(msg("ADT^A01^ADT_A01", "ADM1", evnA01, pidDoe, pv1Doe))
	c.expect("AA", "ADM1")
	c.send(msg("ADT^A08^ADT_A01", "UPD1", "EVN|A08|20240312090000", pidDoe, a08Attending))
	c.expect("AA", "UPD1")
	encs, err := e.dir.Encounters(context.Background(), directory.EncounterQuery{Identifier: "MRN10001"})
	if err != nil || len(encs) != 1 {
		t.Fatalf("encounters %+v %v", encs, err)
	}
	byID := map[string]int{}
	for i, m := range encs[0].CareTeam {
		byID[m.ProviderID+"/"+m.Role] = i
	}
	hi, ok1 := byID["D1001/attending"]
	mi, ok2 := byID["MALLORY/attending"]
	if !ok1 || !ok2 {
		t.Fatalf("care team %+v, want D1001 and MALLORY as attending", encs[0].CareTeam)
	}
	house, mallory := encs[0].CareTeam[hi], encs[0].CareTeam[mi]
	if house.Added == nil || house.Added.ControlID != "ADM1" || house.Added.Event != "A01" || !house.AddedWithEncounter ||
		house.Ended == nil || house.Ended.ControlID != "UPD1" {
		t.Fatalf("admitting attending: %+v added %+v ended %+v", house, house.Added, house.Ended)
	}
	a := mallory.Added
	if a == nil || a.ControlID != "UPD1" || a.Event != "A08" || a.Application != "EPIC" || a.Facility != "GENHOSP" ||
		!strings.HasPrefix(a.Remote, "127.0.0.1:") || mallory.AddedWithEncounter || time.Since(a.At) > time.Minute {
		t.Fatalf("attending added by the update: %+v added %+v", mallory, a)
	}
}

// TestSilentConnectionsDoNotLockOut is issue 10's finding: 256 silent
// connections from one host took every slot of the listener and real HL7
// senders were refused. Now one address has at most its share; the
// hospital's interface engine (another address) still gets in.
func TestSilentConnectionsDoNotLockOut(t *testing.T) {
	e := setup(t, bus.Config{}, nil)
	addr := e.srv.Addr().String()
	var silent []net.Conn
	defer func() {
		for _, c := range silent {
			c.Close()
		}
	}()
	for range 256 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		silent = append(silent, c)
	}
	time.Sleep(200 * time.Millisecond) // let the listener take (or refuse) them all
	engine := dialFrom(t, "127.0.0.2", addr)
	engine.send(msg("ADT^A01^ADT_A01", "REAL1", evnA01, pidDoe, pv1Doe))
	engine.expect("AA", "REAL1")
	if got := testutil.ToFloat64(e.metrics.Refused.WithLabelValues(Source, "per_address_limit")); got != 256-128 {
		t.Errorf("refused per address: %v, want %d", got, 256-128)
	}
	if n := strings.Count(e.logs.String(), "connection refused"); n > 3 {
		t.Errorf("%d refusal warnings for %d refusals: not throttled", n, 256-128)
	}
}

// TestFramingWarningsThrottled: a sender writing junk between frames made
// one warning per junk run, so a hostile one could flood the log. The
// warnings are throttled like refused connections; the messages after
// the junk are still acknowledged.
func TestFramingWarningsThrottled(t *testing.T) {
	e := setup(t, bus.Config{}, nil)
	c := dial(t, e.srv.Addr().String())
	for i := range 50 {
		if _, err := c.c.Write([]byte("junk between frames\n")); err != nil {
			t.Fatal(err)
		}
		id := fmt.Sprintf("J%d", i)
		c.send(msg("ADT^A01^ADT_A01", id, evnA01, pidDoe, pv1Doe))
		c.expect("AA", id)
	}
	if n := strings.Count(e.logs.String(), "mllp framing problem"); n < 1 || n > 3 {
		t.Fatalf("%d framing warnings for 50 junk runs, want 1 to 3 (throttled)", n)
	}
}
