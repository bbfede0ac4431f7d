package atnasyslog

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/parse/syslog"
)

const loginFailure = `<?xml version="1.0" encoding="UTF-8"?><AuditMessage>` +
	`<EventIdentification EventActionCode="E" EventDateTime="2024-03-12T14:05:09.123+01:00" EventOutcomeIndicator="4">` +
	`<EventID csd-code="110114" codeSystemName="DCM" originalText="User Authentication"/>` +
	`<EventTypeCode csd-code="110122" codeSystemName="DCM" originalText="Login"/></EventIdentification>` +
	`<ActiveParticipant UserID="jsmith" UserName="John Smith" UserIsRequestor="true" NetworkAccessPointID="10.5.5.5" NetworkAccessPointTypeCode="2"/>` +
	`<AuditSourceIdentification AuditEnterpriseSiteID="GENHOSP" AuditSourceID="EHR01"/></AuditMessage>`

const patientRecord = `<AuditMessage><EventIdentification EventActionCode="R" EventDateTime="2024-03-12T10:00:00Z" EventOutcomeIndicator="0">` +
	`<EventID csd-code="110110" codeSystemName="DCM" originalText="Patient Record"/></EventIdentification>` +
	`<ActiveParticipant UserID="dr.house" UserIsRequestor="true"/>` +
	`<AuditSourceIdentification AuditSourceID="EHR01"/>` +
	`<ParticipantObjectIdentification ParticipantObjectID="MRN10001^^^GENHOSP" ParticipantObjectTypeCode="1" ParticipantObjectTypeCodeRole="1">` +
	`<ParticipantObjectIDTypeCode csd-code="2" codeSystemName="RFC-3881" originalText="Patient Number"/>` +
	`<ParticipantObjectName>DOE^JOHN</ParticipantObjectName></ParticipantObjectIdentification></AuditMessage>`

func parse(t testing.TB, line string) event.Event {
	t.Helper()
	p := &syslog.Parser{Now: func() time.Time { return time.Date(2024, 3, 12, 13, 0, 0, 0, time.UTC) }}
	var e event.Event
	_ = p.Parse([]byte(line), &e)
	return e
}

func TestApply(t *testing.T) {
	for _, c := range []struct {
		name, line string
		want       map[string]string
		absent     []string
	}{
		{
			name: "ITI-20 RFC 5424 with BOM",
			line: "<85>1 2024-03-12T13:05:09.123Z ehr01.genhosp.org EHR01 2231 IHE+RFC-3881 - \ufeff" + loginFailure,
			want: map[string]string{
				"event.module": "atna", "event.dataset": "atna.audit", "user.name": "jsmith", "event.outcome": "failure",
				"event.category": "authentication", "event.action": "login", "source.ip": "10.5.5.5",
				"process.name": "EHR01", "log.syslog.msgid": "IHE+RFC-3881", "host.name": "ehr01.genhosp.org",
			},
		},
		{
			name: "BSD syslog over UDP",
			line: "<85>Mar 12 10:00:00 pacs01 ATNA: " + patientRecord,
			want: map[string]string{"event.module": "atna", "user.name": "dr.house", "healthcare.patient.id": "MRN10001", "host.name": "pacs01"},
		},
		{
			name:   "broken XML",
			line:   "<85>1 2024-03-12T13:05:09Z h app - IHE+RFC-3881 - <AuditMessage><EventIdentification",
			want:   map[string]string{"event.module": "atna", "message": "<AuditMessage><EventIdentification"},
			absent: []string{"user.name"},
		},
	} {
		e := parse(t, c.line)
		if !Apply(&e) {
			t.Errorf("%s: not recognised", c.name)
			continue
		}
		for k, v := range c.want {
			if got := e.Value(k); got != v {
				t.Errorf("%s: %s = %q, want %q", c.name, k, got, v)
			}
		}
		for _, k := range c.absent {
			if e.Has(k) {
				t.Errorf("%s: has %s", c.name, k)
			}
		}
		broken := strings.HasPrefix(c.name, "broken")
		if e.Has(event.FieldParseError) != broken {
			t.Errorf("%s: parse error %q", c.name, e.Value(event.FieldParseError))
		}
		if !broken && (strings.Contains(e.Value("message"), "<") || strings.Contains(e.Value("message"), "DOE")) {
			t.Errorf("%s: message %q still holds the XML", c.name, e.Value("message"))
		}
	}
	// The event time is the audit event's.
	e := parse(t, "<85>1 2024-03-12T13:05:09.123Z ehr01 EHR01 2231 IHE+RFC-3881 - "+loginFailure)
	Apply(&e)
	if want := time.Date(2024, 3, 12, 13, 5, 9, 123e6, time.UTC); !e.Time.Equal(want) {
		t.Errorf("time %v, want %v", e.Time, want)
	}
}

func TestNotAudit(t *testing.T) {
	for _, line := range []string{
		"<38>Mar 12 10:00:00 host sshd[123]: Accepted password for alice from 10.0.0.1 port 22 ssh2",
		"<38>1 2024-03-12T10:00:00Z host app - - - <b>bold</b> html but no audit",
		"<38>1 2024-03-12T10:00:00Z host app - - - plain text mentioning <AuditMessage> later",
		"<38>1 2024-03-12T10:00:00Z host app - - - " + "<x>" + strings.Repeat(" ", 600) + "<AuditMessage/>",
		"",
	} {
		e := parse(t, line)
		before := slices.Clone(e.Fields)
		if Apply(&e) {
			t.Errorf("recognised %q", line)
		}
		if !slices.Equal(before, e.Fields) {
			t.Errorf("event changed for %q", line)
		}
	}
}

func TestKeepOriginal(t *testing.T) {
	e := parse(t, "<85>1 2024-03-12T13:05:09Z h app - IHE+RFC-3881 - "+patientRecord)
	r := &Recognizer{}
	r.Options.KeepOriginal = true
	if !r.Apply(&e) || e.Value(event.FieldOriginal) != patientRecord {
		t.Fatalf("event.original %q", e.Value(event.FieldOriginal))
	}
}

func FuzzApply(f *testing.F) {
	f.Add(loginFailure)
	f.Add(patientRecord)
	f.Add("<AuditMessage")
	f.Add("\ufeff <?xml?><AuditMessage><ActiveParticipant/></AuditMessage>")
	f.Fuzz(func(t *testing.T, msg string) {
		e := event.Event{Fields: []event.Field{{Name: "message", Value: msg}}}
		Apply(&e)
	})
}

func BenchmarkApply(b *testing.B) {
	for _, c := range []struct{ name, msg string }{
		{"not-audit", "Accepted password for alice from 10.0.0.1 port 22 ssh2"},
		{"xml-not-audit", "<b>bold</b> " + strings.Repeat("x", 500)},
		{"audit", loginFailure},
	} {
		b.Run(c.name, func(b *testing.B) {
			fields := []event.Field{{Name: "log.syslog.appname", Value: "app"}, {Name: "host.name", Value: "h"}, {Name: "message", Value: c.msg}}
			b.SetBytes(int64(len(c.msg)))
			b.ReportAllocs()
			var e event.Event
			for i := 0; i < b.N; i++ {
				e.Fields = append(e.Fields[:0], fields...)
				Apply(&e)
			}
		})
	}
}
