package mllpin

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/vigil-siem/vigil/internal/bus"
	"github.com/vigil-siem/vigil/internal/bus/bustest"
	"github.com/vigil-siem/vigil/internal/certs"
	"github.com/vigil-siem/vigil/internal/db"
	"github.com/vigil-siem/vigil/internal/directory"
	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/ingest"
	"github.com/vigil-siem/vigil/internal/logbuf"
	"github.com/vigil-siem/vigil/internal/parse/hl7"
	"github.com/vigil-siem/vigil/internal/parse/mllp"
)

type env struct {
	bus     *bus.Bus
	cons    *bus.Consumer
	dir     *directory.Store
	metrics *ingest.Metrics
	logs    *logbuf.Buffer
	srv     *Server
}

func quietLog() *slog.Logger { return slog.New(slog.DiscardHandler) }

// setup starts a real bus (with a consumer made before anything is
// published), a real directory and the listener, logging at debug level
// into env.logs.
func setup(t testing.TB, busCfg bus.Config, mod func(*Config)) *env {
	t.Helper()
	b, cons := bustest.Open(t, busCfg)
	d, err := db.Open(filepath.Join(t.TempDir(), "vigil.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	dir, err := directory.New(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{bus: b, cons: cons, dir: dir, metrics: ingest.NewMetrics(prometheus.NewRegistry()), logs: &logbuf.Buffer{}}
	cfg := Config{
		Addr: "127.0.0.1:0", Pub: b, Directory: dir, Metrics: e.metrics,
		Log: slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if mod != nil {
		mod(&cfg)
	}
	e.srv, err = Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.srv.Stop)
	return e
}

// events fetches every event published so far.
func (e *env) events(t testing.TB, want int) []event.Event {
	t.Helper()
	return bustest.Events(t, e.cons, Source, want)
}

// client is an MLLP sender.
type client struct {
	t testing.TB
	c net.Conn
	r *mllp.Reader
}

func dial(t testing.TB, addr string) *client {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &client{t: t, c: c, r: mllp.NewReader(c, 0)}
}

func (c *client) send(msg string) {
	c.t.Helper()
	if _, err := c.c.Write(mllp.AppendFrame(nil, []byte(msg))); err != nil {
		c.t.Fatal(err)
	}
}

// ack reads the next acknowledgement and returns MSA-1, MSA-2 and the
// parsed message.
func (c *client) ack() (code, control string, m *hl7.Message) {
	c.t.Helper()
	_ = c.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	frame, err := c.r.ReadFrame()
	if err != nil {
		c.t.Fatalf("reading ACK: %v", err)
	}
	m, err = hl7.Parse(frame, hl7.Limits{})
	if m == nil { // an ACK of an unsupported version repeats it
		c.t.Fatalf("ACK does not parse: %v: %q", err, frame)
	}
	msa := m.Segment("MSA")
	if msa == nil {
		c.t.Fatalf("ACK without MSA: %q", frame)
	}
	return msa.Get(1, 1, 1, 1), msa.Get(2, 1, 1, 1), m
}

func (c *client) expect(wantCode, wantControl string) *hl7.Message {
	c.t.Helper()
	code, ctrl, m := c.ack()
	if code != wantCode || ctrl != wantControl {
		c.t.Fatalf("ACK %s for %q, want %s for %q: %q", code, ctrl, wantCode, wantControl, m.Raw)
	}
	return m
}

func msg(typ, control string, segs ...string) string {
	return strings.Join(append([]string{
		"MSH|^~\\&|EPIC|GENHOSP|VIGIL|SEC|20240312084500-0500||" + typ + "|" + control + "|P|2.5.1",
	}, segs...), "\r") + "\r"
}

const (
	evnA01 = "EVN|A01|20240312084455-0500|||U1234^SMITH^ANNA|20240312084000-0500"
	pidDoe = "PID|1||MRN10001^^^GENHOSP^MR~999-88-7777^^^SSA^SS||DOE^JOHN^Q||19610615|M|||123 MAIN ST^^SPRINGFIELD^IL^62701||^PRN^PH^^1^217^5550101"
	pv1Doe = "PV1|1|I|4WEST^401^A^GENHOSP|E|||D1001^HOUSE^GREGORY^^^DR^MD|D2002^WILSON^JAMES|||||||||||V7000123^^^GENHOSP^VN|||||||||||||||||||||||||20240312083000-0500"
)

func TestADTOverMLLP(t *testing.T) {
	e := setup(t, bus.Config{}, nil)
	c := dial(t, e.srv.Addr().String())

	c.send(msg("ADT^A01^ADT_A01", "MSG1", evnA01, pidDoe, "NK1|1|DOE^JANE|SPO", pv1Doe))
	ack := c.expect("AA", "MSG1")
	if msh := ack.Segment("MSH"); msh.Get(9, 1, 1, 1) != "ACK" || msh.Get(3, 1, 1, 1) != "VIGIL" || msh.Get(5, 1, 1, 1) != "EPIC" {
		t.Fatalf("ACK header %q", ack.Raw)
	}
	// The ACK means the directory and the bus have it.
	p, err := e.dir.PatientByIdentifier(context.Background(), "MRN10001", "GENHOSP", false)
	if err != nil || p.Name != "DOE, JOHN" {
		t.Fatalf("directory after A01: %+v %v", p, err)
	}
	if ok, _ := e.dir.OnCareTeam(context.Background(), "D1001", "MRN10001", time.Date(2024, 3, 12, 15, 0, 0, 0, time.UTC), 0); !ok {
		t.Fatal("attending not on the care team")
	}

	// A message without PID-3: AE naming the field; the connection stays.
	c.send(msg("ADT^A08^ADT_A01", "MSG2", "EVN|A08|20240312090000", "PID|1||||DOE^JOHN", pv1Doe))
	ack = c.expect("AE", "MSG2")
	if err := ack.Segment("ERR"); err == nil || err.Get(2, 1, 1, 1) != "PID" || err.Get(2, 1, 3, 1) != "3" || err.Get(3, 1, 1, 1) != "101" {
		t.Fatalf("ERR of AE: %q", ack.Raw)
	}

	// Not HL7 at all: AR, and the connection still works.
	c.send("this is not an HL7 message")
	c.expect("AR", "")
	// Bytes between frames are skipped.
	if _, err := c.c.Write([]byte("garbage between frames\r\n")); err != nil {
		t.Fatal(err)
	}
	// A header problem (unsupported version): AR with the location.
	c.send(strings.Replace(msg("ADT^A01", "MSG3", pidDoe), "|2.5.1", "|3.0", 1))
	ack = c.expect("AR", "MSG3")
	if !strings.Contains(ack.Raw, "203") {
		t.Fatalf("AR for version: %q", ack.Raw)
	}
	// Non-ADT messages are recorded and accepted.
	c.send(msg("ORU^R01^ORU_R01", "MSG4", pidDoe, "OBR|1", "OBX|1|NM|GLU||5.5"))
	c.expect("AA", "MSG4")
	// ADT events the directory does not keep (A06) are accepted too.
	c.send(msg("ADT^A06^ADT_A06", "MSG5", "EVN|A06|20240312090000", pidDoe, pv1Doe))
	c.expect("AA", "MSG5")
	// A merge.
	c.send(msg("ADT^A40^ADT_A39", "MSG6", "EVN|A40|20240601080000", "PID|1||MRN10001^^^GENHOSP^MR||DOE^JOHN", "MRG|MRN99999^^^GENHOSP^MR"))
	c.expect("AA", "MSG6")
	if p, err := e.dir.PatientByIdentifier(context.Background(), "MRN99999", "", true); err != nil || p.Name != "DOE, JOHN" {
		t.Fatalf("merged identifier: %+v %v", p, err)
	}

	evs := e.events(t, 7)
	byCtrl := map[string]*event.Event{}
	for i := range evs {
		byCtrl[evs[i].Value("healthcare.hl7.control_id")] = &evs[i]
	}
	first := byCtrl["MSG1"]
	for name, want := range map[string]string{
		"event.module": "hl7", "event.dataset": "hl7.adt", "event.action": "adt-a01", "healthcare.patient.id": "MRN10001",
		"healthcare.hl7.ack_code": "AA", "healthcare.encounter.id": "V7000123", "healthcare.patient.ids": `["MRN10001"]`,
	} {
		if got := first.Value(name); got != want {
			t.Errorf("MSG1 %s = %q, want %q", name, got, want)
		}
	}
	if first.Arrived.IsZero() || !first.Has("log.source.address") || first.Has(event.FieldOriginal) {
		t.Errorf("MSG1 fields %v", first.Fields)
	}
	if first.Time != time.Date(2024, 3, 12, 13, 40, 0, 0, time.UTC) {
		t.Errorf("MSG1 time %v", first.Time)
	}
	if ev := byCtrl["MSG2"]; ev.Value("healthcare.hl7.ack_code") != "AE" || !strings.Contains(ev.Value("error.message"), "PID-3") {
		t.Errorf("MSG2 %v", ev.Fields)
	}
	if ev := byCtrl["MSG3"]; !strings.Contains(ev.Value(event.FieldParseError), "version") {
		t.Errorf("MSG3 %v", ev.Fields)
	}
	if ev := byCtrl[""]; ev == nil || ev.Value(event.FieldMessage) != "unparsable HL7 message" || !ev.Has(event.FieldParseError) {
		t.Errorf("unparsable: %v", ev)
	}
	if got := testutil.ToFloat64(e.metrics.Received.WithLabelValues(Source)); got != 7 {
		t.Errorf("received %v, want 7", got)
	}
	if got := testutil.ToFloat64(e.metrics.Failed.WithLabelValues(Source)); got != 2 {
		t.Errorf("failed %v, want 2", got)
	}
}

func TestEnhancedAcknowledgement(t *testing.T) {
	e := setup(t, bus.Config{}, nil)
	c := dial(t, e.srv.Addr().String())
	withAck := func(control, accept string) string {
		return strings.Replace(msg("ADT^A28^ADT_A05", control, pidDoe), "|P|2.5.1", "|P|2.5.1|||"+accept+"|NE", 1)
	}
	c.send(withAck("E1", "AL"))
	c.expect("CA", "E1")
	c.send(withAck("E2", "NE")) // no acknowledgement wanted
	c.send(withAck("E3", "ER")) // only on error: none
	c.send(withAck("E4", "SU"))
	c.expect("CA", "E4")
	c.send(strings.Replace(withAck("E5", "ER"), "MRN10001^^^GENHOSP^MR~999-88-7777^^^SSA^SS", "", 1))
	c.expect("CE", "E5")
	e.events(t, 5)
}

func TestTooLargeAndTimeouts(t *testing.T) {
	e := setup(t, bus.Config{}, func(c *Config) {
		c.MaxFrameBytes = 2048
		c.IdleTimeout = 300 * time.Millisecond
		c.FrameTimeout = 300 * time.Millisecond
	})
	c := dial(t, e.srv.Addr().String())
	c.send(msg("ADT^A28", "BIG", pidDoe, "NTE|1||"+strings.Repeat("x", 4000)))
	if code, _, _ := c.ack(); code != "AR" {
		t.Fatalf("too large: %s", code)
	}
	c.send(msg("ADT^A28^ADT_A05", "SMALL", pidDoe))
	c.expect("AA", "SMALL")
	if got := testutil.ToFloat64(e.metrics.Rejected.WithLabelValues(Source)); got != 1 {
		t.Errorf("rejected %v, want 1", got)
	}
	// Idle: the server closes the connection.
	time.Sleep(600 * time.Millisecond)
	_ = c.c.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.c.Read(make([]byte, 1)); err == nil {
		t.Fatal("idle connection still open")
	}
	// A message that never ends: closed after the frame timeout, though
	// bytes keep trickling in faster than the idle timeout.
	c2 := dial(t, e.srv.Addr().String())
	_, _ = c2.c.Write([]byte{mllp.StartBlock, 'M', 'S', 'H'})
	closed := false
	for range 20 {
		time.Sleep(100 * time.Millisecond)
		if _, err := c2.c.Write([]byte("x")); err != nil {
			closed = true
			break
		}
	}
	if !closed {
		_ = c2.c.SetReadDeadline(time.Now().Add(time.Second))
		if _, err := c2.c.Read(make([]byte, 1)); err == nil {
			t.Fatal("slow frame not cut off")
		}
	}
}

func TestBusFullAnswersAR(t *testing.T) {
	e := setup(t, bus.Config{MaxBytes: 32 << 10, MaxBatchBytes: 8 << 10}, nil)
	c := dial(t, e.srv.Addr().String())
	stored := 0
	for i := range 200 {
		c.send(msg("ORU^R01^ORU_R01", fmt.Sprintf("F%d", i), pidDoe, "OBX|1|TX|NOTE||"+strings.Repeat("y", 1500)))
		code, ctrl, _ := c.ack()
		if ctrl != fmt.Sprintf("F%d", i) {
			t.Fatalf("ACK for %q, want F%d", ctrl, i)
		}
		if code == "AR" {
			if stored == 0 {
				t.Fatal("first message refused")
			}
			// Consuming frees the stream; the retry is accepted.
			e.events(t, stored)
			c.send(msg("ORU^R01^ORU_R01", "RETRY", pidDoe))
			c.expect("AA", "RETRY")
			if got := testutil.ToFloat64(e.metrics.Received.WithLabelValues(Source)); int(got) != stored+1 {
				t.Errorf("received %v, want %d (the refused message is not counted)", got, stored+1)
			}
			return
		}
		stored++
	}
	t.Fatal("the bus never filled up")
}

func TestTLSAndConnectionLimit(t *testing.T) {
	cert, err := certs.EnsureSelfSigned(t.TempDir(), "mllp", []string{"127.0.0.1"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	e := setup(t, bus.Config{}, func(c *Config) {
		c.TLS = &tls.Config{Certificates: []tls.Certificate{cert.Cert}, MinVersion: tls.VersionTLS12}
		c.MaxConns = 1
	})
	conn, err := tls.Dial("tcp", e.srv.Addr().String(), &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c := &client{t: t, c: conn, r: mllp.NewReader(conn, 0)}
	c.send(msg("ADT^A28^ADT_A05", "T1", pidDoe))
	c.expect("AA", "T1")
	// A second connection is refused while the first is open.
	conn2, err := tls.Dial("tcp", e.srv.Addr().String(), &tls.Config{InsecureSkipVerify: true})
	if err == nil {
		_ = conn2.SetReadDeadline(time.Now().Add(2 * time.Second))
		_, err = conn2.Read(make([]byte, 1))
		conn2.Close()
	}
	if err == nil {
		t.Fatal("connection beyond MaxConns served")
	}
	e.events(t, 1)
}

func TestStopWaitsForTheMessageInProgress(t *testing.T) {
	e := setup(t, bus.Config{}, nil)
	c := dial(t, e.srv.Addr().String())
	c.send(msg("ADT^A28^ADT_A05", "S1", pidDoe))
	c.expect("AA", "S1")
	done := make(chan struct{})
	go func() { e.srv.Stop(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Stop did not return")
	}
	_ = c.c.SetReadDeadline(time.Now().Add(time.Second))
	if _, err := c.c.Read(make([]byte, 1)); err != io.EOF && err == nil {
		t.Fatalf("connection open after Stop: %v", err)
	}
	if _, err := net.Dial("tcp", e.srv.Addr().String()); err == nil {
		t.Fatal("listener open after Stop")
	}
}

// TestOrdersOverMLLP: order and scheduling messages are acknowledged once
// the directory holds their links; one it cannot use is answered AE with
// AA all the same (Vigil listens to a copy of the feed) and stored as an
// event with the reason.
func TestOrdersOverMLLP(t *testing.T) {
	e := setup(t, bus.Config{}, nil)
	c := dial(t, e.srv.Addr().String())
	c.send(msg("ORM^O01", "ORD1", pidDoe, pv1Doe, "ORC|NW|P1|||||||20240312090000-0500|||D1001^HOUSE",
		"OBR|1|P1||71020^Chest X-ray||||||||||||D1001^HOUSE||||||||RAD"))
	c.expect("AA", "ORD1")
	c.send(msg("SIU^S12", "SCH1", "SCH|A1|F1|||||FU^Follow-up||||^^30^20240315100000-0500", pidDoe, "AIP|1||D3003^CUDDY|ATT", "AIL|1||OPC^12"))
	c.expect("AA", "SCH1")
	c.send(msg("ORM^O01", "ORD2", pidDoe))
	c.expect("AA", "ORD2")
	p, err := e.dir.PatientByIdentifier(context.Background(), "MRN10001", "GENHOSP", false)
	if err != nil {
		t.Fatal(err)
	}
	links, err := e.dir.Links(context.Background(), p.ID, 0)
	if err != nil || len(links) != 2 {
		t.Fatalf("links %+v %v", links, err)
	}
	if l := links[0]; l.Kind != hl7.KindAppointment || l.Section != "OPC" || len(l.People) != 1 || l.People[0].ID != "D3003" {
		t.Errorf("appointment %+v", l)
	}
	if l := links[1]; l.Kind != hl7.KindOrder || l.Section != "RAD" || !l.At.Equal(time.Date(2024, 3, 12, 14, 0, 0, 0, time.UTC)) {
		t.Errorf("order %+v", l)
	}
	evs := e.events(t, 3)
	byCtrl := map[string]*event.Event{}
	for i := range evs {
		byCtrl[evs[i].Value("healthcare.hl7.control_id")] = &evs[i]
	}
	if ev := byCtrl["ORD1"]; ev.Value("healthcare.hl7.links") != "1" || ev.Value("event.dataset") != "hl7.orm" {
		t.Errorf("ORD1 %v", ev.Fields)
	}
	if ev := byCtrl["ORD2"]; ev.Value("healthcare.hl7.ack_code") != "AA" || !strings.Contains(ev.Value("error.message"), "order segment") || ev.Has("healthcare.hl7.links") {
		t.Errorf("ORD2 %v", ev.Fields)
	}
}
