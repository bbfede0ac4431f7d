package simulate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/vigil-siem/vigil/internal/client"
	"github.com/vigil-siem/vigil/internal/ehr"
	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/parse/mllp"
)

// netSender sends to a running Vigil: MLLP and syslog TCP connections,
// the HTTP API.
type netSender struct {
	cfg     *Config
	r       *renderer
	c       *client.Client
	mapping *ehr.Mapping

	mllpConn net.Conn
	mr       *mllp.Reader
	mw       *mllp.Writer
	sysConn  net.Conn
	frames   []byte
}

func newNetSender(ctx context.Context, cfg *Config, r *renderer) (*netSender, error) {
	m, err := ehr.Preset("epic")
	if err != nil {
		return nil, err
	}
	n := &netSender{cfg: cfg, r: r, c: client.New(cfg.Server, cfg.Token, cfg.Insecure), mapping: m}
	if err := n.c.WaitReady(ctx, 10*time.Second); err != nil {
		return nil, err
	}
	if err := n.dialMLLP(); err != nil {
		return nil, err
	}
	if err := n.dialSyslog(); err != nil {
		n.close()
		return nil, err
	}
	return n, nil
}

func (n *netSender) dialMLLP() error {
	if n.mllpConn != nil {
		n.mllpConn.Close()
	}
	c, err := net.DialTimeout("tcp", n.cfg.MLLP, 5*time.Second)
	if err != nil {
		return fmt.Errorf("HL7 MLLP listener %s: %w", n.cfg.MLLP, err)
	}
	n.mllpConn, n.mr, n.mw = c, mllp.NewReader(c, 1<<20), mllp.NewWriter(c)
	return nil
}

func (n *netSender) dialSyslog() error {
	if n.sysConn != nil {
		n.sysConn.Close()
	}
	c, err := net.DialTimeout("tcp", n.cfg.Syslog, 5*time.Second)
	if err != nil {
		return fmt.Errorf("syslog TCP listener %s: %w", n.cfg.Syslog, err)
	}
	n.sysConn = c
	return nil
}

func (n *netSender) close() {
	if n.mllpConn != nil {
		n.mllpConn.Close()
	}
	if n.sysConn != nil {
		n.sysConn.Close()
	}
}

// roster sends the workforce roster (CSV) to the workforce import API.
func (n *netSender) roster(ctx context.Context, h *Hospital) error {
	res, err := n.c.ImportWorkforce(ctx, strings.NewReader(RosterCSV(h)), nil)
	if err != nil {
		return fmt.Errorf("workforce import: %w", err)
	}
	if res.ErrorTotal > 0 {
		return fmt.Errorf("workforce import: %d of %d rows refused", res.ErrorTotal, res.Rows)
	}
	return nil
}

// RosterCSV is the hospital's HR roster, in Vigil's own column names.
func RosterCSV(h *Hospital) string {
	var b strings.Builder
	b.WriteString("employee_id,ehr_user_id,provider_id,full_name,family_name,given_name,address,city,state,postal_code,phone,email,department,role,manager_id,hire_date,termination_date\n")
	for _, w := range h.Workers {
		cells := []string{w.EmployeeID, w.Login, w.ProviderID, w.FullName(), w.Family, w.Given, w.Street, w.City, w.State, w.Zip, w.Phone,
			w.Email, w.Dept.Name, w.Role(), w.ManagerID, w.HireDate, w.TerminationDate}
		for i, c := range cells {
			cells[i] = csvCell(c)
		}
		b.WriteString(strings.Join(cells, ","))
		b.WriteByte('\n')
	}
	return b.String()
}

// retry runs f up to three times while it fails with a retryable error.
func retry(ctx context.Context, f func() error) error {
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		if err = f(); err == nil {
			return nil
		}
		var api *client.APIError
		if errors.As(err, &api) && api.Status != http.StatusServiceUnavailable && api.Status != http.StatusTooManyRequests && api.Status < 500 {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(attempt+1) * 200 * time.Millisecond):
		}
	}
	return err
}

// sendEarly sends HL7 messages (each acknowledged) and syslog messages.
func (n *netSender) sendEarly(ctx context.Context, batch []*Intent) (int64, error) {
	var total int64
	n.frames = n.frames[:0]
	var firstErr error
	for _, in := range batch {
		data := n.r.render(in)
		total += int64(len(data))
		if !hl7Kind(in.Kind) {
			n.frames = fmt.Appendf(n.frames, "%d ", len(data))
			n.frames = append(n.frames, data...)
			continue
		}
		if err := n.hl7(data, in.Seq); err != nil && firstErr == nil {
			firstErr = err
		}
	}
	if len(n.frames) > 0 {
		if err := n.syslog(n.frames); err != nil && firstErr == nil {
			firstErr = err
		}
	}
	return total, firstErr
}

func (n *netSender) hl7(msg []byte, seq int) error {
	var err error
	for attempt := 0; attempt < 2; attempt++ {
		if attempt > 0 {
			if err := n.dialMLLP(); err != nil {
				return err
			}
		}
		_ = n.mllpConn.SetDeadline(time.Now().Add(30 * time.Second))
		if err = n.mw.WriteFrame(msg); err != nil {
			continue
		}
		var ack []byte
		if ack, err = n.mr.ReadFrame(); err != nil {
			continue
		}
		if bytes.Contains(ack, []byte("MSA|AA")) || bytes.Contains(ack, []byte("MSA|CA")) {
			return nil
		}
		return fmt.Errorf("HL7 message SIM%d-%d not accepted: the server answered %s", n.cfg.Seed, seq, ackCode(ack))
	}
	return fmt.Errorf("HL7 MLLP: %w", err)
}

func ackCode(ack []byte) string {
	if i := bytes.Index(ack, []byte("MSA|")); i >= 0 && i+6 <= len(ack) {
		return string(ack[i+4 : i+6])
	}
	return "no MSA segment"
}

func (n *netSender) syslog(frames []byte) error {
	var err error
	for attempt := 0; attempt < 2; attempt++ {
		if attempt > 0 {
			if err := n.dialSyslog(); err != nil {
				return err
			}
		}
		_ = n.sysConn.SetWriteDeadline(time.Now().Add(30 * time.Second))
		if _, err = n.sysConn.Write(frames); err == nil {
			return nil
		}
	}
	return fmt.Errorf("syslog: %w", err)
}

// Request sizes of the HTTP lane: the FHIR endpoint takes at most 1,000
// entries a Bundle; ingest requests are kept to a couple of MB.
const (
	maxIngestEvents = 2000
	maxBundle       = 500
)

// sendLate sends EHR rows and Windows events in NDJSON ingest requests,
// then the FHIR AuditEvents as batch Bundles.
func (n *netSender) sendLate(ctx context.Context, batch []*Intent) (int64, error) {
	var total int64
	var firstErr error
	for len(batch) > 0 {
		k := min(len(batch), maxIngestEvents)
		body, fhir, err := n.lateBodies(batch[:k])
		if err != nil {
			return total, err
		}
		batch = batch[k:]
		total += int64(len(body))
		if len(body) > 0 {
			err := retry(ctx, func() error {
				res, err := n.c.Ingest(ctx, "", body)
				if err != nil {
					return err
				}
				if res.RejectedTotal > 0 {
					return fmt.Errorf("ingest refused %d of the events", res.RejectedTotal)
				}
				return nil
			})
			if err != nil && firstErr == nil {
				firstErr = err
			}
		}
		for _, b := range fhir {
			total += int64(len(b))
			if err := retry(ctx, func() error { return n.postFHIR(ctx, b) }); err != nil && firstErr == nil {
				firstErr = err
			}
		}
	}
	return total, firstErr
}

// lateBodies renders a late batch: the NDJSON of EHR and Windows events
// (EHR rows read through the Epic preset, as vigil ehr import reads an
// export) and FHIR batch Bundles of at most maxBundle AuditEvents.
func (n *netSender) lateBodies(batch []*Intent) (ndjson []byte, bundles [][]byte, err error) {
	var csv strings.Builder
	rows := 0
	for _, in := range batch {
		if in.Kind == KindEHR {
			if rows == 0 {
				csv.WriteString(ehrColumns + "\n")
			}
			csv.WriteString(n.r.ehrRow(in))
			csv.WriteByte('\n')
			rows++
		}
	}
	var ehrEvents []event.Event
	if rows > 0 {
		rd, err := ehr.NewReader(strings.NewReader(csv.String()), n.mapping, ehr.Options{Path: "simulated_access_log.csv"})
		if err != nil {
			return nil, nil, fmt.Errorf("BUG: simulated access log unreadable: %w", err)
		}
		for {
			row, err := rd.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				return nil, nil, fmt.Errorf("BUG: simulated access log: %w", err)
			}
			if row.Err != nil {
				return nil, nil, fmt.Errorf("BUG: simulated access-log row %d: %w", row.Line, row.Err)
			}
			ehrEvents = append(ehrEvents, row.Event)
		}
		if len(ehrEvents) != rows {
			return nil, nil, fmt.Errorf("BUG: %d access-log rows read back as %d events", rows, len(ehrEvents))
		}
	}
	var fhir [][]byte
	k := 0
	for _, in := range batch {
		switch in.Kind {
		case KindEHR:
			ndjson = event.AppendJSON(ndjson, &ehrEvents[k])
			ndjson = append(ndjson, '\n')
			k++
		case KindWinLogon:
			ndjson = append(ndjson, n.r.winlogon(in)...)
			ndjson = append(ndjson, '\n')
		case KindFHIR:
			fhir = append(fhir, n.r.fhir(in))
		}
	}
	for len(fhir) > 0 {
		part := fhir[:min(len(fhir), maxBundle)]
		fhir = fhir[len(part):]
		var b bytes.Buffer
		b.WriteString(`{"resourceType":"Bundle","type":"batch","entry":[`)
		for i, r := range part {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(`{"resource":`)
			b.Write(r)
			b.WriteString(`,"request":{"method":"POST","url":"AuditEvent"}}`)
		}
		b.WriteString(`]}`)
		bundles = append(bundles, b.Bytes())
	}
	return ndjson, bundles, nil
}

func (n *netSender) postFHIR(ctx context.Context, bundle []byte) error {
	resp, err := n.c.Post(ctx, "/fhir", nil, bytes.NewReader(bundle), http.Header{"Content-Type": {"application/fhir+json"}})
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if resp.StatusCode != http.StatusOK {
		return &client.APIError{Status: resp.StatusCode, Msg: "FHIR batch refused"}
	}
	var out struct {
		Entry []struct {
			Response struct {
				Status string `json:"status"`
			} `json:"response"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(data, &out); err != nil {
		return fmt.Errorf("FHIR batch response: %w", err)
	}
	bad := 0
	for _, e := range out.Entry {
		if !strings.HasPrefix(e.Response.Status, "201") {
			bad++
		}
	}
	if bad > 0 {
		return fmt.Errorf("FHIR batch: %d of %d AuditEvents not stored", bad, len(out.Entry))
	}
	return nil
}
