package simulate

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-siem/vigil/internal/parse/hl7"
	"github.com/vigil-siem/vigil/internal/privacy"
)

// TestOrdersFeed: with the ancillary feeds, the same seed plans the same
// hospital and work plus order, result, pharmacy and scheduling messages
// that parse; run through Vigil, accesses nothing else explained are
// explained by an order, a result or a medication, and without the feeds
// no access is.
func TestOrdersFeed(t *testing.T) {
	start := time.Date(2026, 11, 26, 6, 0, 0, 0, time.UTC)
	opt := PlanOptions{Seed: 5, Start: start, Span: 30 * time.Hour, Location: time.UTC, Incidents: true}
	without := NewPlan(opt)
	opt.Orders = true
	with := NewPlan(opt)

	var others []Intent
	triggers := map[string]int{}
	r := &renderer{loc: time.UTC, seed: 5, fac: with.H.Profile.Facility}
	for i := range with.Intents {
		in := &with.Intents[i]
		if in.Kind != KindClinical {
			others = append(others, *in)
			continue
		}
		triggers[in.Trigger]++
		m, err := hl7.Parse(r.clinical(in), hl7.Limits{})
		if err != nil {
			t.Fatalf("%s: %v", in.Trigger, err)
		}
		c, err := hl7.ExtractClinical(m, time.UTC)
		if err != nil || len(c.Items) != 1 || c.Patient[0].ID != in.P.MRN {
			t.Fatalf("%s: %+v %v", in.Trigger, c, err)
		}
		if it := c.Items[0]; in.Trigger == "ORU^R01" && (len(it.People) < 2 || it.Section == "") {
			t.Fatalf("result without its performer or section: %+v", it)
		}
	}
	if len(others) != len(without.Intents) {
		t.Fatalf("%d other intents with the feeds, %d without", len(others), len(without.Intents))
	}
	for i := range others {
		a, b := &others[i], &without.Intents[i]
		if a.Seq != b.Seq || !a.T.Equal(b.T) || a.Kind != b.Kind || a.Action != b.Action || a.actor() != b.actor() {
			t.Fatalf("intent %d differs: %+v vs %+v", i, a, b)
		}
	}
	for _, tr := range []string{"ORM^O01", "ORU^R01", "RDE^O11"} {
		if triggers[tr] == 0 {
			t.Errorf("no %s planned: %v", tr, triggers)
		}
	}
	// The export carries them among the ADT messages, for vigil hl7 send.
	dir := t.TempDir()
	st, err := Export(with, dir)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, ExportADT))
	if err != nil {
		t.Fatal(err)
	}
	clinical := len(with.Intents) - len(without.Intents)
	if n := len(hl7.SplitMessages(data)); n != st.Messages || strings.Count(string(data), "|ORM^O01^") != triggers["ORM^O01"] || st.Messages <= clinical {
		t.Errorf("export: %d messages split, %d written, %d ORM, %d clinical planned", n, st.Messages, strings.Count(string(data), "|ORM^O01^"), clinical)
	}

	codes := func(p *Plan) (map[string]string, *Evaluation) {
		ev, err := Evaluate(context.Background(), p, EvalOptions{Dir: t.TempDir(), Keep: true})
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for i := range ev.Kept {
			e := &ev.Kept[i]
			// Keyed by what the access is (event.id is the pipeline's
			// position, which the messages shift).
			if e.Has(privacy.FieldExplanation) {
				id := e.Time.String() + "|" + e.Value("user.name") + "|" + e.Value("healthcare.patient.id") + "|" + e.Value("event.action")
				out[id] = e.Value(privacy.FieldExplanation) + "|" + e.Value(privacy.FieldExplanationDetail)
			}
		}
		return out, ev
	}
	byLink := func(c string) bool {
		for _, k := range []string{privacy.ExplainOrder, privacy.ExplainResult, privacy.ExplainMedication, privacy.ExplainAppointment} {
			if strings.HasPrefix(c, k+"|") {
				return true
			}
		}
		return false
	}
	cw, evw := codes(with)
	cn, evn := codes(without)
	t.Logf("with the feeds: %s", evw.Report())
	t.Logf("without: %s", evn.Report())
	onlyByLink, linked := 0, 0
	for id, c := range cw {
		if byLink(c) {
			linked++
			if strings.HasPrefix(cn[id], privacy.ExplainNone+"|") {
				onlyByLink++
			}
		}
	}
	for id, c := range cn {
		if byLink(c) {
			t.Fatalf("access %s explained by a link without any feed: %s", id, c)
		}
	}
	if linked == 0 || onlyByLink == 0 {
		t.Errorf("%d accesses explained by a link, %d of them unexplained without the feeds; want some of each", linked, onlyByLink)
	}
	if evw.ExplainedShare() < evn.ExplainedShare() {
		t.Errorf("explained share %.3f with the feeds, %.3f without", evw.ExplainedShare(), evn.ExplainedShare())
	}
	if len(evw.Score.Missed) > len(evn.Score.Missed) {
		t.Errorf("missed with the feeds: %v; without: %v", evw.Score.Missed, evn.Score.Missed)
	}
}
