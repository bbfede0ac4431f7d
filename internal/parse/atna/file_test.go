package atna

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/vigil-siem/vigil/internal/event"
)

func TestEventsFromFile(t *testing.T) {
	data, _ := os.ReadFile("testdata/multi_messages.txt")
	bad := `<AuditMessage><EventIdentification EventDateTime="2024-01-01T00:00:00Z" EventOutcomeIndicator="9"><EventID csd-code="110112"/></EventIdentification><ActiveParticipant UserID="u"/><AuditSourceIdentification AuditSourceID="s"/></AuditMessage>`
	evs, errs := Events(strings.NewReader(string(data)+bad+"<AuditMessage><oops></AuditMessage>"), Limits{}, Options{}, time.Unix(0, 0))
	if len(evs) != 4 || len(errs) != 2 {
		t.Fatalf("got %d events and %d errors (%v), want 4 and 2", len(evs), len(errs), errs)
	}
	if !strings.Contains(evs[3].Value(event.FieldParseError), "EventOutcomeIndicator") || evs[3].Value("event.code") != "110112" {
		t.Errorf("got %v", evs[3].Fields)
	}
}
