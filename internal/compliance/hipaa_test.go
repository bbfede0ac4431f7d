package compliance

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-siem/vigil/internal/alerts"
	"github.com/vigil-siem/vigil/internal/backup"
	"github.com/vigil-siem/vigil/internal/db"
	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/integrity"
	"github.com/vigil-siem/vigil/internal/notify/mailtest"
	"github.com/vigil-siem/vigil/internal/report"
	"github.com/vigil-siem/vigil/internal/report/reporttest"
	"github.com/vigil-siem/vigil/internal/retention"
	"github.com/vigil-siem/vigil/internal/sources"
	"github.com/vigil-siem/vigil/internal/store"
)

func ev(t time.Time, kv ...string) event.Event {
	e := event.Event{Time: t}
	for i := 0; i < len(kv); i += 2 {
		e.Add(kv[i], kv[i+1])
	}
	return e
}

// hospital is a small store of the events the pack reads, and inputs
// around it.
func hospital(t *testing.T) (Inputs, time.Time, time.Time) {
	t.Helper()
	s, err := store.Open(t.TempDir(), store.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	now := time.Now().UTC()
	from, to := now.Add(-7*24*time.Hour), now
	var evs []event.Event
	at := func(h int) time.Time { return now.Add(-time.Duration(h) * time.Hour) }
	for i := range 30 {
		evs = append(evs, ev(at(i*5+1), "message", "login ok", "event.category", "authentication", "event.outcome", "success", "event.action", "ssh_login",
			"user.name", fmt.Sprintf("nurse%d", i%4), "source.ip", "10.1.0.5", "system.auth.ssh.method", "publickey", "host.name", "ehr-db"))
	}
	for i := range 12 {
		evs = append(evs, ev(at(i*3+2), "message", "login failed", "event.category", "authentication", "event.outcome", "failure", "event.action", "ssh_login",
			"user.name", "mallory", "source.ip", "203.0.113.9", "event.reason", "incorrect_password", "host.name", "ehr-db"))
	}
	evs = append(evs,
		ev(at(3), "message", "root login", "event.category", "authentication", "event.outcome", "success", "event.action", "ssh_login", "user.name", "root", "host.name", "pacs-1", "system.auth.ssh.method", "password"),
		ev(at(4), "message", "sudo", "event.category", "authentication", "event.outcome", "success", "event.action", "sudo", "user.name", "admin.jo", "user.effective.name", "root", "host.name", "ehr-db"),
		ev(at(5), "message", "user added", "event.category", "iam", "event.type", "creation", "event.action", "added-user-account", "user.name", "admin.jo", "user.target.name", "temp.contractor", "host.name", "dc-1"),
		ev(at(6), "message", "group add", "event.category", "iam", "event.type", "change", "event.action", "added-member-to-group", "user.name", "admin.jo", "user.target.name", "temp.contractor", "group.name", "Domain Admins", "host.name", "dc-1"),
		ev(at(7), "message", "record viewed", "event.module", "ehr", "event.action", "view", "user.name", "dr.who", "healthcare.patient.id", "MRN-1", "healthcare.workforce.department", "Cardiology", "healthcare.access.explained", "true"),
		ev(at(8), "message", "record viewed", "event.module", "ehr", "event.action", "view", "user.name", "clerk.sam", "healthcare.patient.id", "MRN-2", "healthcare.workforce.department", "Billing", "healthcare.access.explained", "false"),
		ev(at(9), "message", "break glass", "event.module", "ehr", "event.action", "view", "user.name", "dr.er", "healthcare.patient.id", "MRN-3", "healthcare.break_glass", "true", "healthcare.break_glass_reason", "purpose_of_use", "healthcare.workforce.department", "Emergency"),
		ev(at(10), "message", "export", "event.module", "dicom", "event.action", "export", "user.name", "tech.pat", "healthcare.audit.media.direction", "destination"),
	)
	s.Add(evs)
	s.Flush()
	closed := now.Add(-2 * time.Hour)
	in := Inputs{
		Org:   "St. Example Hospital",
		Store: s,
		Alerts: func(context.Context, alerts.Filter) ([]alerts.Alert, error) {
			return []alerts.Alert{
				{ID: 1, RuleTitle: "SSH brute force", Level: "high", Status: "closed", Disposition: "true_positive", Created: now.Add(-30 * time.Hour), ClosedAt: &closed},
				{ID: 2, RuleTitle: "VIP record access", Level: "critical", Status: "new", Created: now.Add(-3 * time.Hour)},
				{ID: 3, RuleTitle: "Unusual hours", Level: "low", Status: "closed", Disposition: "false_positive", Created: now.Add(-50 * time.Hour), ClosedAt: &closed},
			}, nil
		},
		Sources: func() []sources.Source {
			silentSince := now.Add(-5 * time.Hour)
			return []sources.Source{{Host: "ehr-db", Dataset: "system.auth", LastSeen: now, LastEvent: now, Count: 43},
				{Host: "fw-1", Dataset: "firewall", LastSeen: now.Add(-5 * time.Hour), LastEvent: now.Add(-5 * time.Hour), Count: 1000, Silent: true, SilentSince: &silentSince}}
		},
		Integrity: func(context.Context) (*integrity.Status, error) {
			return &integrity.Status{Batches: 10, Events: 55, KeyID: "6c353487bb8c3606",
				LastCheckpoint: &integrity.Checkpoint{Number: 12, Time: now.Add(-time.Minute)},
				LastVerify:     &integrity.Report{Checked: now.Add(-time.Hour), Batches: 10, Events: 55, Problems: []integrity.Problem{}}}, nil
		},
		Backups: func(context.Context, time.Time) ([]backup.Record, error) {
			return []backup.Record{{ID: "b1", Target: "/backups", Started: now.Add(-20 * time.Hour), Snapshot: now.Add(-20 * time.Hour), Files: 90, Bytes: 5 << 20, NewBytes: 1 << 20},
				{Target: "/backups", Started: now.Add(-44 * time.Hour), Error: "disk full"}}, nil
		},
		Drills: func(context.Context, time.Time) ([]backup.Drill, error) {
			return []backup.Drill{
				{Backup: "b1", Started: now.Add(-19 * time.Hour), Restore: backup.Seconds(824 * time.Millisecond), Verify: backup.Seconds(1882 * time.Millisecond),
					Start: backup.Seconds(1192 * time.Millisecond), Recovery: backup.Seconds(2016 * time.Millisecond), Verified: 300000, Sealed: 300000, OK: true},
				{Started: now.Add(-43 * time.Hour), Error: "restore: blob 3f…: SHA-256 mismatch"},
			}, nil
		},
		Disposals: func(context.Context, time.Time) ([]retention.Disposal, error) {
			return []retention.Disposal{{ID: 4, Started: now.Add(-10 * time.Hour), Finished: now.Add(-10 * time.Hour), Policy: "firewall", Filter: "(event.category:network)", Before: now.Add(-90 * 24 * time.Hour), Events: 1234, Batches: []uint64{5, 6}}}, nil
		},
		Holds: func(context.Context) ([]retention.Hold, error) {
			return []retention.Hold{{ID: 1, Name: "subpoena 26-118", Query: "user.name:mallory", Case: "7", Reason: "litigation", Created: now.Add(-48 * time.Hour)}}, nil
		},
		Policies:       []retention.Policy{{Name: "firewall", Keep: 90 * 24 * time.Hour, Filter: "event.category:network"}},
		StoreRetention: 400 * 24 * time.Hour,
		Facts:          Facts{SyslogPlain: true, SyslogTLS: true, BackupTarget: "/backups", BackupInterval: 24 * time.Hour, VerifyInterval: 24 * time.Hour, CheckpointInterval: 5 * time.Minute},
	}
	return in, from, to
}

// TestHIPAAPackPDF renders the pack and reads every section back from the
// PDF.
func TestHIPAAPackPDF(t *testing.T) {
	in, from, to := hospital(t)
	doc, err := HIPAA(context.Background(), in, from, to, to)
	if err != nil {
		t.Fatal(err)
	}
	for i, id := range HIPAASections {
		if i >= len(doc.Sections) || doc.Sections[i].ID != id {
			t.Fatalf("section %d is %q, want %q", i, doc.Sections[i].ID, id)
		}
	}
	var buf strings.Builder
	if err := report.Render(&buf, doc, report.PDF); err != nil {
		t.Fatal(err)
	}
	text := reporttest.PDFText(t, []byte(buf.String()))
	for _, want := range []string{"HIPAA Security Rule evidence", "St. Example Hospital"} {
		if !strings.Contains(text, want) {
			t.Errorf("the PDF lacks %q", want)
		}
	}
	// Each section, read back on its own: what it must say.
	titles := make([]string, len(doc.Sections))
	for i, sec := range doc.Sections {
		titles[i] = sec.Title
	}
	secs := reporttest.Sections(t, text, titles)
	for id, wants := range map[string][]string{
		"summary": {"FAILED", "1 high or critical alerts are still open", "1 backups failed in the period"},
		"164.308(a)(1)(ii)(D)": {"45 CFR 164.308(a)(1)(ii)(D)", "Events collected per day", "Source coverage", "SILENT since", "fw-1",
			"Privileged use by user and target account", "admin.jo", "Account and group changes", "temp.contractor", "Domain Admins"},
		"164.308(a)(5)(ii)(C)": {"45 CFR 164.308(a)(5)(ii)(C)", "Failed log-ons", "mallory", "203.0.113.9", "Log-on attempts per day"},
		"164.308(a)(6)":        {"45 CFR 164.308(a)(6)", "Alerts raised Closed Open high or critical Time to close (median / 90th) 3 2 1", "VIP record access", "true_positive", "false_positive"},
		"164.308(a)(7)": {"45 CFR 164.308(a)(7)", "Backups completed Backups failed Latest snapshot Encryption 1 1", "disk full", "Backups are not encrypted", "every 24h0m0s to /backups",
			"Restore drills passed", "Latest recovery time", "2.016s", "300,000", "FAILED: restore: blob", "Restore drills are not scheduled"},
		"164.312(a)(2)": {"45 CFR 164.312(a)(2)", "Shared or generic accounts", "root pacs-1 1", "Emergency (break-glass) access by user", "dr.er Emergency purpose_of_use", "(iii) Automatic logoff", "(iv) Encryption and decryption"},
		"164.312(b)":    {"45 CFR 164.312(b)", "EHR accesses recorded 3", "Unexplained accesses 1", "clerk.sam Billing", "PHI exports", "tech.pat export dicom"},
		"164.312(c)":    {"45 CFR 164.312(c)", "Latest signed checkpoint", "#12", "passed", "55 events of 10 batches", "6c353487bb8c3"},
		"164.312(d)":    {"45 CFR 164.312(d)", "incorrect_password", "publickey"},
		"164.312(e)":    {"45 CFR 164.312(e)", "Syslog over TLS"},
		"164.316(b)(2)": {"45 CFR 164.316(b)(2)", "subpoena 26-118", "user.name:mallory", "firewall", "1,234"},
		"attestation":   {"Reviewer name", "Signature"},
	} {
		i := slices.Index(HIPAASections, id)
		if i < 0 {
			t.Fatalf("no section %s", id)
		}
		for _, want := range wants {
			if !strings.Contains(secs[i], want) {
				t.Errorf("section %s (%s) lacks %q", id, titles[i], want)
			}
		}
	}
	// What belongs to one section is not in another's.
	for id, want := range map[string]string{"164.308(a)(5)(ii)(C)": "203.0.113.9", "164.312(a)(2)": "dr.er", "164.312(b)": "tech.pat"} {
		i := slices.Index(HIPAASections, id)
		for j, sec := range secs {
			if j != i && j != 0 && strings.Contains(sec, want) {
				t.Errorf("%q of section %s shows in section %d (%s)", want, id, j+1, titles[j])
			}
		}
	}
	if strings.Contains(text, "MRN-") {
		t.Error("the pack prints a patient identifier")
	}
	// HTML and CSV of the same document.
	var h strings.Builder
	if err := report.Render(&h, doc, report.HTML); err != nil || !strings.Contains(h.String(), `data-section="164.312(c)"`) {
		t.Fatalf("HTML: %v", err)
	}
	var c strings.Builder
	if err := report.Render(&c, doc, report.CSV); err != nil || !strings.Contains(c.String(), "164.308(a)(5)(ii)(C),Log-in monitoring,table,logon_failures,1,Account,mallory") {
		t.Fatalf("CSV: %v\n%s", err, c.String()[:min(2000, c.Len())])
	}
}

func TestReportsKeptSignedOffAndMailed(t *testing.T) {
	in, _, _ := hospital(t)
	d, err := db.Open(filepath.Join(t.TempDir(), "vigil.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var audited []string
	s := &Service{DB: d, Inputs: func(context.Context) Inputs { return in },
		Audit: func(_ context.Context, action, target string, _ map[string]string) {
			audited = append(audited, action+" "+target)
		}}
	if err := s.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	now := time.Now()
	st, out, err := s.Generate(ctx, KindHIPAA, now.Add(-7*24*time.Hour), now, "auditor.ann")
	if err != nil {
		t.Fatal(err)
	}
	if len(out[report.PDF]) == 0 || len(st.SHA256) != 64 {
		t.Fatalf("stored %+v", st)
	}
	if _, err := s.SignOff(ctx, st.ID, Signoff{Reviewer: "Ann Auditor", SHA256: strings.Repeat("0", 64)}); err == nil {
		t.Fatal("sign-off of another hash accepted")
	}
	so, err := s.SignOff(ctx, st.ID, Signoff{Reviewer: "Ann Auditor", Role: "Security officer", Comment: "Reviewed; follow-up on the open VIP alert assigned.", SHA256: st.SHA256})
	if err != nil {
		t.Fatal(err)
	}
	l, err := s.List(ctx, 10)
	if err != nil || len(l) != 1 || len(l[0].Signoffs) != 1 || l[0].Signoffs[0].Reviewer != "Ann Auditor" || l[0].Signoffs[0].SHA256 != st.SHA256 || so.Signed.IsZero() {
		t.Fatalf("list %+v, %v", l, err)
	}
	if got, _, err := s.Get(ctx, st.ID, report.PDF); err != nil || string(got) != string(out[report.PDF]) {
		t.Fatalf("kept PDF differs: %v", err)
	}
	if fmt.Sprint(audited) != fmt.Sprintf("[report.generate report/%d report.signoff report/%d]", st.ID, st.ID) {
		t.Fatalf("audited %v", audited)
	}
	// Scheduled delivery by e-mail to a real SMTP server.
	mp := mailtest.Start(t)
	sch := Schedule{Every: 24 * time.Hour, To: []string{"security@example.org"},
		Mailer: &SMTPMailer{Host: mp.Host, Port: mp.Port, From: "vigil@example.org", Username: "vigil", Password: "x", TLS: mp.TLS}}
	if err := s.Deliver(ctx, sch); err != nil {
		t.Fatal(err)
	}
	msgs := mp.Wait(t, 1, 20*time.Second)
	if len(msgs) != 1 || !strings.Contains(msgs[0].Subject, "HIPAA evidence report") || msgs[0].To[0].Address != "security@example.org" {
		t.Fatalf("mail %+v", msgs)
	}
	body := mp.Text(t, msgs[0].ID)
	if !strings.Contains(body, "SHA-256") {
		t.Fatalf("mail body %q", body)
	}
}

// TestHIPAADataDirEncryption: section (iv) says whether the data dir is
// encrypted at rest, and with which key.
func TestHIPAADataDirEncryption(t *testing.T) {
	for _, enc := range []bool{false, true} {
		in, from, to := hospital(t)
		in.Facts.DataDirEncrypted, in.Facts.DataDirKeyID = enc, "data-2026-12-07"
		doc, err := HIPAA(context.Background(), in, from, to, to)
		if err != nil {
			t.Fatal(err)
		}
		var buf strings.Builder
		if err := report.Render(&buf, doc, report.HTML); err != nil {
			t.Fatal(err)
		}
		want, not := "relies on the file system", "encrypted at rest (AES-256-GCM), its master key wrapped by key data-2026-12-07"
		if enc {
			want, not = not, want
		}
		if !strings.Contains(buf.String(), want) || strings.Contains(buf.String(), not) {
			t.Errorf("encrypted %v: the report does not say %q (or says %q)", enc, want, not)
		}
	}
}
