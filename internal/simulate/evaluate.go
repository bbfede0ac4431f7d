package simulate

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/vigil-siem/vigil/internal/alerts"
	"github.com/vigil-siem/vigil/internal/cputime"
	"github.com/vigil-siem/vigil/internal/db"
	"github.com/vigil-siem/vigil/internal/detect/correlation"
	"github.com/vigil-siem/vigil/internal/detect/detector"
	"github.com/vigil-siem/vigil/internal/detect/enrich"
	"github.com/vigil-siem/vigil/internal/detect/sigma/engine"
	"github.com/vigil-siem/vigil/internal/directory"
	"github.com/vigil-siem/vigil/internal/ehr"
	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/formats"
	"github.com/vigil-siem/vigil/internal/parse/hl7"
	"github.com/vigil-siem/vigil/internal/privacy"
	"github.com/vigil-siem/vigil/rules"
)

// Evaluation: Vigil's detection path in one process, with the real
// components — the parsers of every source (package formats, the Epic
// preset), the directory (SQLite) fed with the ADT messages as the MLLP
// listener feeds it, the enricher and the privacy engine annotating the
// accesses as they arrive (learning its explanation templates from them),
// the privacy rules, the built-in Sigma rules and the correlation engine
// — fed with a simulated period, and scored against its ground truth.

// EvalOptions configure Evaluate.
type EvalOptions struct {
	// Dir is a scratch directory (the database, the extracted rules).
	Dir string
	// RulesDirs are the Sigma rule directories (default: the built-in
	// rules).
	RulesDirs []string
	// Privacy is the privacy configuration (nil: the defaults).
	Privacy *privacy.Config
	// Batch is how many events the annotation sees at once, as an import
	// request or a listener's batch would carry them (default 500).
	Batch int
	// Keep keeps the annotated events in the result.
	Keep bool
	// Import replays the period as a historical import: the ADT messages
	// first (the directory holds every stay), then the access log in
	// requests of Batch rows (default 2,000 then), as vigil hl7 send and
	// vigil ehr import load a hospital's history. Only the record accesses
	// are evaluated.
	Import bool
}

// TypeScore is how the incidents of one type were detected.
type TypeScore struct {
	Incidents, Detected int
	// Accesses and Alerted count the incident's record accesses and those
	// named (event.id) by an alert of an expected rule.
	Accesses, Alerted int
}

// Evaluation is what Evaluate measured.
type Evaluation struct {
	Events   int
	Accesses int // record accesses (EHR, FHIR, ATNA with a patient)
	// Legit and Explained count the accesses that are not incidents, and
	// those of them the explanation covered; ByDept per department.
	Legit, Explained int
	ByDept           map[string][2]int // department -> explained, legit
	// ByCode counts the legitimate accesses by explanation code
	// (care_team, department_pattern, order, none …).
	ByCode map[string]int
	ByType map[string]*TypeScore
	Score  Score
	// PrivacyAlerts are the alerts of the privacy rules; PrivacyTrue those
	// an incident explains.
	PrivacyAlerts, PrivacyTrue int
	Alerts                     []AlertRef
	Templates                  []privacy.Template
	Elapsed                    time.Duration
	// AnnotateTime is the CPU time spent enriching, explaining and in the
	// privacy rules.
	AnnotateTime time.Duration
	// Later are the accesses stored unexplained that templates mined after
	// them explained before the rules judged them, by access id.
	Later map[string]string
	Kept  []event.Event
}

// Recall is the share of incidents detected by all their expected rules.
func (t *TypeScore) Recall() float64 {
	if t.Incidents == 0 {
		return 0
	}
	return float64(t.Detected) / float64(t.Incidents)
}

// ExplainedShare is the share of legitimate accesses explained.
func (e *Evaluation) ExplainedShare() float64 {
	if e.Legit == 0 {
		return 0
	}
	return float64(e.Explained) / float64(e.Legit)
}

// Precision is the share of privacy alerts an incident explains.
func (e *Evaluation) Precision() float64 {
	if e.PrivacyAlerts == 0 {
		return 1
	}
	return float64(e.PrivacyTrue) / float64(e.PrivacyAlerts)
}

type pipeline struct {
	r      *renderer
	dir    *directory.Store
	en     *enrich.Enricher
	pe     *privacy.Engine
	ann    *privacy.Annotator
	prules *privacy.Rules
	worker *engine.Worker
	corr   *correlation.Engine
	epic   *ehr.Mapping
	n      int
	alerts []AlertRef
	// privacyRaw are the privacy rules' alerts as raised.
	privacyRaw []alerts.Alert
	later      map[string]string
}

// Evaluate runs a plan through Vigil's detection path in one process and
// scores it.
func Evaluate(ctx context.Context, plan *Plan, opt EvalOptions) (*Evaluation, error) {
	if opt.Batch <= 0 {
		opt.Batch = 500
	}
	d, err := db.Open(filepath.Join(opt.Dir, "vigil.db"))
	if err != nil {
		return nil, err
	}
	defer d.Close()
	p, err := newPipeline(ctx, plan, opt, d)
	if err != nil {
		return nil, err
	}
	return p.run(ctx, plan, opt)
}

// newPipeline prepares the detection path of Evaluate on database d: the
// directory holds the plan's roster.
func newPipeline(ctx context.Context, plan *Plan, opt EvalOptions, d *sql.DB) (*pipeline, error) {
	dir, err := directory.New(ctx, d)
	if err != nil {
		return nil, err
	}
	res, err := dir.ImportWorkforce(ctx, strings.NewReader(RosterCSV(plan.H)), directory.ImportOptions{})
	if err != nil {
		return nil, err
	}
	if res.ErrorTotal > 0 {
		return nil, fmt.Errorf("roster: %d rows refused", res.ErrorTotal)
	}
	en, err := enrich.New(enrich.Config{Directory: dir, Location: plan.Opt.Location, Baseline: plan.Opt.Baseline, RefreshAfter: -1})
	if err != nil {
		return nil, err
	}
	pe, err := privacy.NewEngine(ctx, privacy.EngineConfig{DB: d, Directory: dir, Config: opt.Privacy})
	if err != nil {
		return nil, err
	}
	if len(opt.RulesDirs) == 0 {
		rd, err := rules.Extract(filepath.Join(opt.Dir, "rules"))
		if err != nil {
			return nil, err
		}
		opt.RulesDirs = []string{rd}
	}
	rs, err := detector.Load(ctx, detector.LoadOptions{Dirs: opt.RulesDirs})
	if err != nil {
		return nil, err
	}
	if len(rs.Rejected) > 0 {
		return nil, fmt.Errorf("rules rejected: %+v", rs.Rejected)
	}
	epic, err := ehr.Preset("epic")
	if err != nil {
		return nil, err
	}
	later := map[string]string{}
	p := &pipeline{r: &renderer{loc: plan.Opt.Location, seed: plan.Opt.Seed, fac: plan.H.Profile.Facility}, dir: dir, en: en, pe: pe, later: later,
		worker: rs.Engine.NewWorker(), ann: &privacy.Annotator{Enricher: en, Engine: pe},
		prules: privacy.NewRules(opt.Privacy, privacy.RulesOptions{Reexamine: en.Reexamine, Engine: pe, Now: func() time.Time { return time.Unix(0, 0) },
			Later: func(ev *event.Event, x privacy.Explanation) { later[ev.Value("event.id")] = x.Detail }}),
		corr: correlation.New(rs.Correlations, rs.Engine, correlation.Options{}), epic: epic}
	return p, nil
}

// eventsOf turns an intent into the events Vigil would store, through the
// parsers the listeners use (package formats), and applies ADT messages
// to the directory as the MLLP listener does.
func (p *pipeline) eventsOf(ctx context.Context, in *Intent) ([]event.Event, error) {
	var format string
	var data []byte
	switch in.Kind {
	case KindADT:
		format, data = "hl7", p.r.adt(in)
		m, err := hl7.Parse(data, hl7.Limits{})
		if err != nil {
			return nil, fmt.Errorf("ADT %s seq %d: %w", in.Trigger, in.Seq, err)
		}
		a, err := hl7.ExtractADT(m, p.r.loc)
		if err != nil {
			return nil, fmt.Errorf("ADT %s seq %d: extract: %w", in.Trigger, in.Seq, err)
		}
		if _, err := p.dir.ApplyADT(ctx, a); err != nil {
			return nil, fmt.Errorf("ADT %s seq %d: apply: %w", in.Trigger, in.Seq, err)
		}
	case KindClinical:
		format, data = "hl7", p.r.clinical(in)
		m, err := hl7.Parse(data, hl7.Limits{})
		if err != nil {
			return nil, fmt.Errorf("%s seq %d: %w", in.Trigger, in.Seq, err)
		}
		c, err := hl7.ExtractClinical(m, p.r.loc)
		if err != nil {
			return nil, fmt.Errorf("%s seq %d: extract: %w", in.Trigger, in.Seq, err)
		}
		if _, err := p.dir.ApplyClinical(ctx, c, directory.Provenance{}); err != nil {
			return nil, fmt.Errorf("%s seq %d: apply: %w", in.Trigger, in.Seq, err)
		}
	case KindEHR:
		rd, err := ehr.NewReader(strings.NewReader(ehrColumns+"\n"+p.r.ehrRow(in)+"\n"), p.epic, ehr.Options{Path: "x.csv"})
		if err != nil {
			return nil, err
		}
		row, err := rd.Next()
		if err != nil || row.Err != nil {
			return nil, fmt.Errorf("EHR row seq %d: %v %v", in.Seq, err, row.Err)
		}
		return []event.Event{row.Event}, nil
	case KindFHIR:
		format, data = "fhir", p.r.fhir(in)
	case KindATNA, KindSSH, KindSudo:
		format, data = "syslog", p.r.render(in)
	case KindWinLogon:
		format, data = "ndjson", p.r.winlogon(in)
	}
	var out []event.Event
	f, err := formats.Lookup(format)
	if err != nil {
		return nil, err
	}
	problems, err := f.File(bytes.NewReader(data), formats.Options{Location: p.r.loc, Now: func() time.Time { return in.T }},
		func(e *event.Event) error { out = append(out, e.Clone()); return nil })
	if err != nil || len(problems) > 0 || len(out) != 1 {
		return nil, fmt.Errorf("%s seq %d: %v %v, %d events", format, in.Seq, err, problems, len(out))
	}
	if pe := out[0].Value(event.FieldParseError); pe != "" {
		return nil, fmt.Errorf("%s seq %d: %s", format, in.Seq, pe)
	}
	return out, nil
}

var alertKeys = []string{"user.name", "source.ip", "healthcare.patient.id", "host.name", "event.id"}

// staged is one event on its way, with the intent it came from.
type staged struct {
	ev event.Event
	in *Intent
}

func (p *pipeline) run(ctx context.Context, plan *Plan, opt EvalOptions) (*Evaluation, error) {
	ev := &Evaluation{ByDept: map[string][2]int{}, ByCode: map[string]int{}, ByType: map[string]*TypeScore{}, Later: p.later}
	began := time.Now()
	var batch []staged
	flush := func() {
		if len(batch) == 0 {
			return
		}
		// The annotation on the way in (enrichment, explanation; learning
		// first), then the detector: its own enrichment of what was not
		// annotated, the privacy rules, Sigma and the correlations.
		evs := make([]event.Event, len(batch))
		for i := range batch {
			evs[i] = batch[i].ev
		}
		// CPU time, not wall time: the machine may be shared.
		t0 := cputime.Self()
		p.ann.Annotate(ctx, evs)
		for i := range evs {
			e := &evs[i]
			e.Set(event.FieldID, fmt.Sprintf("%d-0", p.n+i+1))
			p.privacy(p.prules.Observe(ctx, e))
		}
		p.privacy(p.prules.Tick(ctx))
		ev.AnnotateTime += cputime.Self() - t0
		for i := range evs {
			e := &evs[i]
			p.n++
			p.ann.Detect(ctx, e)
			p.sigma(e)
			p.account(ev, e, batch[i].in, plan)
			if opt.Keep {
				ev.Kept = append(ev.Kept, e.Clone())
			}
		}
		batch = batch[:0]
	}
	if opt.Import {
		return p.runImport(ctx, plan, opt, ev)
	}
	for i := range plan.Intents {
		in := &plan.Intents[i]
		evs, err := p.eventsOf(ctx, in)
		if err != nil {
			return nil, err
		}
		ev.Events += len(evs)
		for _, e := range evs {
			if in.Kind == KindADT {
				// The MLLP listener publishes each message alone, once the
				// directory has it.
				flush()
				batch = append(batch, staged{e, in})
				flush()
				continue
			}
			// An order or result message is applied to the directory at
			// once and does not cut the batch: the accesses of the HTTP
			// sources arrive in their own batches whatever the MLLP
			// traffic (an access a little before a link is explained by
			// it anyway: the windows begin before the link).
			batch = append(batch, staged{e, in})
			if len(batch) >= opt.Batch {
				flush()
			}
		}
	}
	flush()
	p.correlated(p.corr.Flush(plan.Opt.Start.Add(plan.Opt.Span + 24*time.Hour)))
	p.privacy(p.prules.Flush(ctx))
	ev.Elapsed = time.Since(began)
	ev.Alerts = p.alerts
	truth := plan.Truth()
	ev.Score = Compare(truth, p.alerts)
	p.scoreTypes(ev, truth)
	var err error
	ev.Templates, err = p.pe.Templates(ctx)
	return ev, err
}

// runImport is run for a historical import: the directory first, then
// the accesses in import requests; the CPU time of the annotation and the
// privacy rules is measured over the accesses alone.
func (p *pipeline) runImport(ctx context.Context, plan *Plan, opt EvalOptions, ev *Evaluation) (*Evaluation, error) {
	began := time.Now()
	if opt.Batch == 500 {
		opt.Batch = 2000
	}
	for i := range plan.Intents {
		if in := &plan.Intents[i]; hl7Kind(in.Kind) {
			if _, err := p.eventsOf(ctx, in); err != nil {
				return nil, err
			}
		}
	}
	// The roster and the directory are loaded; what follows is the import,
	// of which the annotation and the privacy rules are timed.
	var batch []staged
	flush := func() {
		evs := make([]event.Event, len(batch))
		for i := range batch {
			evs[i] = batch[i].ev
		}
		t0 := cputime.Self()
		p.ann.Annotate(ctx, evs)
		for i := range evs {
			e := &evs[i]
			e.Set(event.FieldID, fmt.Sprintf("%d-0", p.n+i+1))
			p.privacy(p.prules.Observe(ctx, e))
		}
		p.privacy(p.prules.Tick(ctx))
		ev.AnnotateTime += cputime.Self() - t0
		for i := range evs {
			p.n++
			p.sigma(&evs[i])
			p.account(ev, &evs[i], batch[i].in, plan)
			if opt.Keep {
				ev.Kept = append(ev.Kept, evs[i].Clone())
			}
		}
		batch = batch[:0]
	}
	for i := range plan.Intents {
		in := &plan.Intents[i]
		if in.Kind != KindEHR && in.Kind != KindFHIR {
			continue
		}
		if in.Kind == KindFHIR {
			// The EHR's own log of what the app read, as Export writes it.
			c := *in
			c.Kind, c.Action, c.Host = KindEHR, strings.ToUpper(in.Action)+" READ", in.W.Workstation
			in = &c
		}
		evs, err := p.eventsOf(ctx, in)
		if err != nil {
			return nil, err
		}
		for _, e := range evs {
			e.Set(event.FieldImport, "true")
			batch = append(batch, staged{e, in})
			ev.Events++
		}
		if len(batch) >= opt.Batch {
			flush()
		}
	}
	if len(batch) > 0 {
		flush()
	}
	t0 := cputime.Self()
	p.privacy(p.prules.Flush(ctx))
	ev.AnnotateTime += cputime.Self() - t0
	p.correlated(p.corr.Flush(plan.Opt.Start.Add(plan.Opt.Span + 24*time.Hour)))
	ev.Elapsed = time.Since(began)
	ev.Alerts = p.alerts
	// Only what the access log shows is expected: not the Linux and
	// Windows logons of the incident after termination.
	var truth []TruthRecord
	for _, t := range plan.Truth() {
		if len(t.AccessIDs) == 0 {
			continue
		}
		t.Rules = slices.DeleteFunc(slices.Clone(t.Rules), func(r string) bool { return r == RuleLinuxLoginTerminated })
		truth = append(truth, t)
	}
	ev.Score = Compare(truth, p.alerts)
	p.scoreTypes(ev, truth)
	var err error
	ev.Templates, err = p.pe.Templates(ctx)
	return ev, err
}

// account counts an annotated access: legitimate and explained or not.
func (p *pipeline) account(ev *Evaluation, e *event.Event, in *Intent, plan *Plan) {
	x, ok := e.Get(privacy.FieldExplained)
	if !ok {
		return
	}
	ev.Accesses++
	if in.Incident >= 0 {
		return
	}
	ev.Legit++
	ev.ByCode[e.Value(privacy.FieldExplanation)]++
	d := e.Value(enrich.FieldWorkforceDepartment)
	c := ev.ByDept[d]
	c[1]++
	if x == "true" {
		ev.Explained++
		c[0]++
	}
	ev.ByDept[d] = c
}

func (p *pipeline) sigma(e *event.Event) {
	p.worker.Match(e, func(m *engine.Match) {
		if m.Rule.Alert {
			a := AlertRef{RuleID: m.Rule.ID, Title: m.Rule.Title, Time: m.Event.Time, Fields: map[string]string{}}
			for _, k := range alertKeys {
				if v := m.Event.Value(k); v != "" {
					a.Fields[k] = v
				}
			}
			p.alerts = append(p.alerts, a)
		}
		if m.Rule.Correlated {
			p.correlated(p.corr.Observe(m))
		}
	})
}

func (p *pipeline) correlated(as []correlation.Alert) {
	for _, a := range as {
		if !a.Standalone {
			continue
		}
		r := AlertRef{RuleID: a.RuleID, Title: a.Title, Time: a.Last, GroupBy: map[string]string{}}
		for _, g := range a.GroupBy {
			r.GroupBy[g.Name] = g.Value
		}
		p.alerts = append(p.alerts, r)
	}
}

// privacy keeps the privacy rules' alerts (a burst's updates are the same
// alert).
func (p *pipeline) privacy(as []alerts.Alert) {
	for _, a := range as {
		p.privacyRaw = append(p.privacyRaw, a)
		if a.Update {
			continue
		}
		r := AlertRef{RuleID: a.RuleID, Title: a.RuleTitle, Time: a.Time, Fields: map[string]string{}, GroupBy: a.GroupBy, Kind: a.Kind}
		for _, k := range append(alertKeys, "privacy.access_ids") {
			if v := a.Fields[k]; v != "" {
				r.Fields[k] = v
			}
		}
		p.alerts = append(p.alerts, r)
	}
}

// scoreTypes fills the per-type recall and the precision of the privacy
// alerts.
func (p *pipeline) scoreTypes(ev *Evaluation, truth []TruthRecord) {
	for i := range truth {
		t := &truth[i]
		ts := ev.ByType[t.Incident]
		if ts == nil {
			ts = &TypeScore{}
			ev.ByType[t.Incident] = ts
		}
		ts.Incidents++
		all := true
		named := map[string]bool{}
		for _, r := range t.Rules {
			hit := false
			for j := range p.alerts {
				a := &p.alerts[j]
				if t.explains(a, []string{r}) {
					hit = true
					for _, id := range accessIDsOf(a) {
						named[id] = true
					}
				}
			}
			all = all && hit
		}
		if all {
			ts.Detected++
		}
		ts.Accesses += len(t.AccessIDs)
		for _, id := range t.AccessIDs {
			if named[id] {
				ts.Alerted++
			}
		}
	}
	for j := range p.alerts {
		a := &p.alerts[j]
		if a.Kind != "privacy" {
			continue
		}
		ev.PrivacyAlerts++
		for i := range truth {
			if truth[i].explains(a, append(append([]string{}, truth[i].Rules...), truth[i].Also...)) {
				ev.PrivacyTrue++
				break
			}
		}
	}
}

// accessIDsOf lists the access ids an alert names.
func accessIDsOf(a *AlertRef) []string {
	var out []string
	if l := a.Fields["privacy.access_ids"]; l != "" {
		for _, s := range strings.Split(strings.Trim(l, "[]"), ",") {
			out = append(out, strings.Trim(s, `"`))
		}
	}
	if id := a.Fields["event.id"]; id != "" {
		out = append(out, id)
	}
	return out
}

// Report is the evaluation in a few lines for a person (no PHI: types,
// rule titles, departments and counts).
func (e *Evaluation) Report() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d events, %d record accesses, %d legitimate: %.1f%% explained; %d privacy alerts, precision %.3f; %s (enrichment, explanation and privacy rules: %s CPU, %.0f accesses per CPU-second)\n",
		e.Events, e.Accesses, e.Legit, 100*e.ExplainedShare(), e.PrivacyAlerts, e.Precision(), e.Elapsed.Round(time.Millisecond),
		e.AnnotateTime.Round(time.Millisecond), float64(e.Accesses)/max(e.AnnotateTime.Seconds(), 1e-9))
	var types []string
	for k := range e.ByType {
		types = append(types, k)
	}
	sort.Strings(types)
	for _, k := range types {
		t := e.ByType[k]
		fmt.Fprintf(&b, "  %-34s incidents %3d detected %3d recall %.2f", k, t.Incidents, t.Detected, t.Recall())
		if t.Accesses > 0 {
			fmt.Fprintf(&b, "  accesses named %d/%d", t.Alerted, t.Accesses)
		}
		b.WriteByte('\n')
	}
	var codes []string
	for k := range e.ByCode {
		codes = append(codes, k)
	}
	sort.Strings(codes)
	b.WriteString("  legitimate accesses by explanation:")
	for _, k := range codes {
		fmt.Fprintf(&b, " %s %d", k, e.ByCode[k])
	}
	b.WriteByte('\n')
	var depts []string
	for k := range e.ByDept {
		depts = append(depts, k)
	}
	sort.Strings(depts)
	for _, k := range depts {
		c := e.ByDept[k]
		fmt.Fprintf(&b, "  explained %-32s %6d/%-6d %.1f%%\n", k, c[0], c[1], 100*float64(c[0])/float64(max(1, c[1])))
	}
	b.WriteString(e.Score.Summary())
	return b.String()
}
