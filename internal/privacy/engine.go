package privacy

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigil-siem/vigil/internal/atomicfile"
	"github.com/vigil-siem/vigil/internal/detect/enrich"
	"github.com/vigil-siem/vigil/internal/event"
)

// Fields the explanation writes into every access event.
const (
	FieldExplained         = "healthcare.access.explained"
	FieldExplanation       = "healthcare.access.explanation"
	FieldExplanationDetail = "healthcare.access.explanation_detail"
	FieldExplanationID     = "healthcare.access.explanation_template"
	// FieldCorroboration is "pending" on a sensitive access a template
	// explains where the template's department routinely has a tie to
	// the patient and none is known yet: the privacy rules judge it once
	// the corroboration window after it has passed (Config.Corroboration).
	FieldCorroboration = "healthcare.access.corroboration"
)

// Explanation codes (healthcare.access.explanation).
const (
	ExplainCareTeam     = "care_team"
	ExplainConsult      = "consult"
	ExplainSameDeptTeam = "same_department_care_team"
	ExplainDeptPattern  = "department_pattern"
	ExplainConfigured   = "configured_template"
	ExplainNone         = "none"
)

// The details of unexplained accesses (healthcare.access.explanation_detail
// begins with one of them; UnexplainedReason reads it back).
const (
	detailTerminated     = "the user's employment has ended: nothing explains an access after it"
	detailSelf           = "the user's own record: nothing explains it"
	detailFamily         = "a family member's record: only a direct relationship (the care team) explains it"
	detailUnknownPatient = "the patient is not in the directory (no ADT feed for them yet)"
	detailNoTemplate     = "not on the care team, and no template"
	detailUncorroborated = "a sensitive record a template alone does not explain"
)

// UnexplainedReason names, in a few words, why an access was left
// unexplained, from its explanation detail.
func UnexplainedReason(detail string) string {
	for _, r := range []struct{ prefix, reason string }{
		{detailTerminated, "employment ended"},
		{detailSelf, "own record"},
		{detailFamily, "family member's record"},
		{detailUnknownPatient, "patient not in the directory"},
		{detailNoTemplate, "no care team or template"},
		{detailUncorroborated, "template without corroboration"},
	} {
		if strings.HasPrefix(detail, r.prefix) {
			return r.reason
		}
	}
	return "other"
}

// Explanation is the verdict on one access.
type Explanation struct {
	Explained bool
	Code      string // one of the Explain* codes
	Detail    string
	Template  int64 // the template that explains it (0: none)
	// Pending: a template explains a sensitive access that needs a
	// corroboration not known yet (FieldCorroboration).
	Pending bool
}

// EngineConfig configures an Engine.
type EngineConfig struct {
	// DB keeps the templates and decisions (the control-plane database).
	DB *sql.DB
	// Directory gives the base rates of patient states.
	Directory Directory
	Config    *Config
	// CareTeamGrace is the enricher's (detect.care_team_grace).
	CareTeamGrace time.Duration
	// StatePath keeps what the miner learnt across restarts ("": not
	// kept).
	StatePath string
	Log       *slog.Logger
	Now       func() time.Time
}

// Engine explains accesses to patient records: it learns explanation
// templates from the accesses it sees (mining), keeps them with the
// privacy officer's decisions, and says of each access whether and why it
// is explained. It is safe for concurrent use.
type Engine struct {
	cfg        EngineConfig
	pc         *Config
	miner      *miner
	store      *templateStore
	configured []Template
	act        atomic.Pointer[active]

	mineMu   sync.Mutex // serialises mining; guards the fields below
	base     *baseRates
	lastMine time.Time
	mined    bool
	version  int64

	explained, unexplained, minings atomic.Uint64
	groups                          groupCache
	// recent: who opened each patient lately, to corroborate sensitive
	// accesses (Config.Corroboration).
	recent *recentAccesses
	corr   corroboration
}

// NewEngine opens the template store, restores the miner's state and
// prepares the templates that explain accesses.
func NewEngine(ctx context.Context, cfg EngineConfig) (*Engine, error) {
	if cfg.DB == nil || cfg.Directory == nil {
		return nil, errors.New("privacy: engine needs a database and a directory")
	}
	if cfg.Config == nil {
		c, err := ParseConfig(nil, "(defaults)")
		if err != nil {
			return nil, err
		}
		cfg.Config = c
	}
	if cfg.CareTeamGrace <= 0 {
		cfg.CareTeamGrace = 24 * time.Hour
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	st, err := openTemplateStore(ctx, cfg.DB)
	if err != nil {
		return nil, err
	}
	e := &Engine{cfg: cfg, pc: cfg.Config, miner: newMiner(cfg.Config.Mining), store: st, groups: groupCache{by: cfg.Config.Mining.GroupBy},
		recent: newRecentAccesses()}
	for i, t := range cfg.Config.Templates {
		g := GroupKey("department", t.Department)
		if t.Role != "" {
			g = GroupKey("role", t.Role)
		}
		desc := t.Description
		if desc == "" {
			desc = describe(g, t.Patients)
		}
		e.configured = append(e.configured, Template{ID: -int64(i + 1), Group: g, Feature: t.Patients, Status: StatusConfigured,
			Source: "config", Name: t.Name, Description: desc})
	}
	if cfg.StatePath != "" {
		data, err := os.ReadFile(cfg.StatePath)
		switch {
		case errors.Is(err, os.ErrNotExist):
		case err != nil:
			return nil, fmt.Errorf("privacy: read miner state: %w", err)
		default:
			var ms minerState
			if err := json.Unmarshal(data, &ms); err != nil {
				cfg.Log.Warn("privacy miner state unreadable; learning afresh", "file", cfg.StatePath, "err", err)
			} else if err := e.miner.restore(ms); err != nil {
				cfg.Log.Warn("privacy miner state not restored; learning afresh", "file", cfg.StatePath, "err", err)
				e.miner = newMiner(cfg.Config.Mining)
			} else {
				e.mined = true // the templates in the database come from it
			}
		}
	}
	if err := e.reload(ctx); err != nil {
		return nil, err
	}
	return e, nil
}

// Warm reports whether the miner has seen at least n accesses by users
// of a department (or of its users in the role): enough to have learnt
// the department's routine.
func (e *Engine) Warm(dept, role string, n int) bool {
	if dept == "" {
		return true
	}
	g := e.groups.get(dept, role)
	return e.miner.observedIn(g.dept) >= n || role != "" && e.miner.observedIn(g.job) >= n
}

// Version counts the changes of the templates in use (minings,
// decisions).
func (e *Engine) Version() int64 { return e.act.Load().version }

// reload reads the templates and makes them the ones that explain.
func (e *Engine) reload(ctx context.Context) error {
	ts, err := e.store.all(ctx)
	if err != nil {
		return err
	}
	e.version++
	e.act.Store(newActive(append(ts, e.configured...), e.version))
	return nil
}

// Templates returns every template: mined ones (with their status and
// statistics) and configured ones.
func (e *Engine) Templates(ctx context.Context) ([]Template, error) {
	ts, err := e.store.all(ctx)
	if err != nil {
		return nil, err
	}
	return append(ts, e.configured...), nil
}

// Template returns one template.
func (e *Engine) Template(ctx context.Context, id int64) (Template, error) {
	ts, err := e.Templates(ctx)
	if err != nil {
		return Template{}, err
	}
	for _, t := range ts {
		if t.ID == id {
			return t, nil
		}
	}
	return Template{}, fmt.Errorf("template %d: %w", id, ErrNotFound)
}

// Decide records the privacy officer's decision on a mined template:
// approved (always explains), rejected (never explains; mining looks for
// other explanations) or proposed (undecided again). It takes effect at
// once.
func (e *Engine) Decide(ctx context.Context, id int64, status, actor, reason string) (Template, error) {
	if id < 0 {
		return Template{}, fmt.Errorf("template %d is written in the privacy configuration: change it there", id)
	}
	if status != StatusProposed && strings.TrimSpace(reason) == "" {
		return Template{}, errors.New("a reason is required")
	}
	if err := e.store.decide(ctx, id, status, actor, reason, e.cfg.Now()); err != nil {
		return Template{}, err
	}
	e.mineMu.Lock()
	err := e.reload(ctx)
	e.mineMu.Unlock()
	if err != nil {
		return Template{}, err
	}
	return e.Template(ctx, id)
}

// MineResult says what a mining did.
type MineResult struct {
	Accesses  uint64    `json:"accesses"` // learnt from since the start
	Groups    int       `json:"groups"`
	Chosen    int       `json:"chosen"`
	From      time.Time `json:"from,omitzero"`
	To        time.Time `json:"to,omitzero"`
	Patients  int       `json:"patients"`
	Took      string    `json:"took"`
	Templates int       `json:"templates"`
}

// Mine chooses templates from what the miner learnt, now.
func (e *Engine) Mine(ctx context.Context) (MineResult, error) {
	e.mineMu.Lock()
	defer e.mineMu.Unlock()
	return e.mineLocked(ctx)
}

func (e *Engine) mineLocked(ctx context.Context) (MineResult, error) {
	start := time.Now()
	from, to := e.miner.horizon()
	var res MineResult
	if from.IsZero() {
		return res, nil
	}
	grace, half := e.cfg.CareTeamGrace, time.Duration(e.pc.Mining.HalfLife)
	switch b := e.base; {
	case b == nil || from.Before(b.from) || time.Since(b.computed) > 10*time.Minute || b.grace != grace || b.half != half:
		// Measured afresh: the first time, when the history reaches
		// further back, and every few minutes (the directory changes).
		nb, err := computeBaseRates(ctx, e.cfg.Directory, from, to, grace, half)
		if err != nil {
			return res, fmt.Errorf("privacy: base rates: %w", err)
		}
		nb.computed = time.Now()
		e.base = nb
	case to.After(b.to.Add(b.to.Sub(b.from) / 10)):
		// The history grew (an import going on): only what follows the
		// period measured is read.
		if err := b.extend(ctx, e.cfg.Directory, to); err != nil {
			return res, fmt.Errorf("privacy: base rates: %w", err)
		}
	}
	ts, err := e.store.all(ctx)
	if err != nil {
		return res, err
	}
	decided := map[string]map[string]string{}
	for _, t := range ts {
		if t.Status == StatusApproved || t.Status == StatusRejected {
			if decided[t.Group] == nil {
				decided[t.Group] = map[string]string{}
			}
			decided[t.Group][t.Feature] = t.Status
		}
	}
	sel := e.miner.mine(e.base, decided)
	now := e.cfg.Now()
	if err := e.store.apply(ctx, sel, *e.pc.Mining.AutoAccept, now); err != nil {
		return res, err
	}
	if err := e.reload(ctx); err != nil {
		return res, err
	}
	e.mined, e.lastMine = true, time.Now()
	e.minings.Add(1)
	groups := map[string]bool{}
	for _, s := range sel {
		groups[s.group] = true
	}
	e.miner.mu.Lock()
	res.Accesses = e.miner.total
	e.miner.mu.Unlock()
	res.Groups, res.Chosen, res.From, res.To, res.Patients = len(groups), len(sel), e.base.from, e.base.to, e.base.patients
	res.Took = time.Since(start).Round(time.Millisecond).String()
	res.Templates = len(ts)
	return res, nil
}

// firstMining is how many accesses the miner waits for before it mines
// the first time.
const firstMining = 200

// maybeMine mines when enough new accesses came since the last mining: at
// 200 accesses, then each time they have doubled, then every
// EveryAccesses (or a tenth of all, when more) — so that the first rows
// of an import, or the first hours of a new installation, explain what
// follows them. When another batch is mining, it waits for that mining:
// batches of an import arrive side by side (ehr import sends several
// requests at once), and one explained with the templates of before the
// mining in progress — none yet, for the first rows of a department —
// would be stored unexplained.
func (e *Engine) maybeMine(ctx context.Context) {
	due := func() bool {
		pending, total := e.miner.counts()
		// 200, 400, 800 … up to EveryAccesses, then every EveryAccesses
		// or a tenth of what was learnt, whichever is more: a large
		// import mines about fifty times whatever its size.
		before := total - pending
		return pending >= max(min(uint64(e.pc.Mining.EveryAccesses), max(firstMining, before)), before/10)
	}
	if !due() {
		return
	}
	if !e.mineMu.TryLock() {
		e.mineMu.Lock()
		if !due() {
			e.mineMu.Unlock()
			return
		}
	}
	defer e.mineMu.Unlock()
	if _, err := e.mineLocked(ctx); err != nil {
		e.cfg.Log.Warn("privacy: mining failed; the templates in use stay", "err", err)
	}
}

// Run mines every Mining.Every while accesses arrive and saves the
// miner's state; it returns when ctx ends, after a last save.
func (e *Engine) Run(ctx context.Context) {
	t := time.NewTicker(time.Duration(e.pc.Mining.Every))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			if err := e.Save(); err != nil {
				e.cfg.Log.Error("privacy miner state not saved", "err", err)
			}
			return
		case <-t.C:
			if e.miner.pending() > 0 {
				if _, err := e.Mine(ctx); err != nil {
					e.cfg.Log.Warn("privacy: mining failed; the templates in use stay", "err", err)
				}
			}
			if err := e.Save(); err != nil {
				e.cfg.Log.Warn("privacy miner state not saved", "err", err)
			}
		}
	}
}

// Save writes the miner's state to StatePath.
func (e *Engine) Save() error {
	if e.cfg.StatePath == "" {
		return nil
	}
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(e.miner.state()); err != nil {
		return err
	}
	if err := atomicfile.Write(e.cfg.StatePath, buf.Bytes()); err != nil {
		return fmt.Errorf("privacy: save miner state: %w", err)
	}
	return nil
}

// EngineStats are counters for metrics.
type EngineStats struct {
	Explained, Unexplained, Minings uint64
}

// Stats returns the engine's counters.
func (e *Engine) Stats() EngineStats {
	return EngineStats{Explained: e.explained.Load(), Unexplained: e.unexplained.Load(), Minings: e.minings.Load()}
}

// groupKeys are the groups an access's user belongs to, for matching
// templates: department, job, role (shared: read only).
func (e *Engine) groupKeys(a *enrich.Access) []string {
	return e.groups.get(a.Department, a.Role).match
}

// JobKey names the group of a department's users in a role:
// "job:<department>|<role>", lower case.
func JobKey(dept, role string) string {
	return "job:" + strings.ToLower(strings.TrimSpace(dept)) + "|" + strings.ToLower(strings.TrimSpace(role))
}

// learnt says whether an access may teach the miner: not by someone who
// has left, not of one's own record.
func learnt(a *enrich.Access) bool { return !a.Terminated && !a.Rel.Self }

// ExplainBatch explains accesses: it first learns from them (so that the
// first rows of an import explain the others), mines when due, then says
// of each whether and why it is explained.
func (e *Engine) ExplainBatch(ctx context.Context, accs []enrich.Access) []Explanation {
	type prepared struct {
		feats  []string
		direct *Direct
		lag    time.Duration
	}
	ps := make([]prepared, len(accs))
	obs := make([]observation, 0, len(accs))
	for i := range accs {
		a := &accs[i]
		ps[i].feats, ps[i].direct = features(a, e.cfg.CareTeamGrace, nil)
		ps[i].lag = dischargeLag(a)
		if !learnt(a) {
			continue
		}
		if groups := e.groups.get(a.Department, a.Role).learn; len(groups) > 0 {
			// An access a link (an order, a result …) explains still
			// teaches the department's patterns: the work the feeds do
			// not cover (a verbal order, an interface down) is explained
			// by them.
			residual := ps[i].direct == nil || ps[i].direct.Detail != ""
			obs = append(obs, observation{groups: groups, feats: ps[i].feats, user: a.User, patient: a.Patient, at: a.At, residual: residual, lag: ps[i].lag})
		}
	}
	e.miner.observe(obs)
	if e.pc.corroborates() {
		e.recent.add(accs)
	}
	e.maybeMine(ctx)
	act := e.act.Load()
	out := make([]Explanation, len(accs))
	corroborates := e.pc.corroborates()
	for i := range accs {
		out[i] = e.explain(&accs[i], ps[i].feats, ps[i].direct, ps[i].lag, act, e.groupKeys(&accs[i]), false)
		if corroborates && out[i].Explained && out[i].Template > 0 && !sensitiveAccess(&accs[i]) {
			e.corr.add(out[i].Template, &accs[i])
		}
		if out[i].Explained {
			e.explained.Add(1)
		} else {
			e.unexplained.Add(1)
		}
	}
	if corroborates {
		e.corr.measure(e.recent, time.Duration(e.pc.Corroboration.Window))
	}
	return out
}

// Promising reports whether an access nothing explains now may be
// explained by the templates of a later mining: the patient is in a state
// the user's groups open more often than chance, though not yet often
// enough for a template (a float nurse's first shifts in intensive care).
func (e *Engine) Promising(a *enrich.Access) bool {
	if a.Terminated || a.Rel.Self || a.Rel.Family {
		return false
	}
	feats, _ := features(a, e.cfg.CareTeamGrace, nil)
	return e.miner.promising(e.groupKeys(a), feats)
}

// needsCorroboration reports whether a template explains a sensitive
// access only with corroboration (Config.Corroboration): when the
// template's department routinely has a colleague's access around its
// own (at least MinRate of them). Configured templates and team_dept
// (itself a tie of the department to the stay) never do.
//
// A break-glass access is judged the same way. Asking corroboration of
// every break-glass access a template explains was measured: where the
// EHR makes everyone off the ADT care team break the glass on a
// protected record (pharmacists, unit clerks, registration, billing), it
// turned the department's routine on those records into alerts
// (precision 0.14 on the independent hospital, 1/4 size, seed 3).
func (e *Engine) needsCorroboration(a *enrich.Access, t *Template) bool {
	if !e.pc.corroborates() || t.Status == StatusConfigured || t.Feature == FeatTeamDept || !sensitiveAccess(a) {
		return false
	}
	r, ok := e.corr.rate(t.ID)
	return ok && r >= e.pc.Corroboration.MinRate
}

// Explain explains one access with the templates in use, without
// learning from it. A sensitive access that waits for corroboration is
// explained, Pending.
func (e *Engine) Explain(a *enrich.Access) Explanation {
	feats, direct := features(a, e.cfg.CareTeamGrace, nil)
	return e.explain(a, feats, direct, dischargeLag(a), e.act.Load(), e.groupKeys(a), false)
}

// Reexplain is the final verdict on an access, once the corroboration
// window after it has passed: a sensitive access that needs
// corroboration and has none is unexplained.
func (e *Engine) Reexplain(a *enrich.Access) Explanation {
	feats, direct := features(a, e.cfg.CareTeamGrace, nil)
	return e.explain(a, feats, direct, dischargeLag(a), e.act.Load(), e.groupKeys(a), true)
}

func (e *Engine) explain(a *enrich.Access, feats []string, direct *Direct, lag time.Duration, act *active, groups []string, final bool) Explanation {
	switch {
	case a.Terminated:
		return Explanation{Code: ExplainNone, Detail: detailTerminated}
	case a.Rel.Self:
		return Explanation{Code: ExplainNone, Detail: detailSelf}
	case direct != nil && direct.Detail != "" && !(direct.Filler && a.Rel.Family):
		// A link: one naming the user is a direct relationship; one the
		// user's department fills is not, for a family member's record.
		return Explanation{Explained: true, Code: direct.Kind, Detail: direct.Detail}
	case direct != nil && direct.Detail != "":
		return Explanation{Code: ExplainNone, Detail: detailFamily}
	case direct != nil:
		d := "on the patient's care team"
		if direct.Role != "" {
			d += " (" + direct.Role + ")"
		}
		if direct.Later {
			d += ", from within the hour after the access"
		}
		return Explanation{Explained: true, Code: direct.Kind, Detail: d}
	case a.Rel.Family:
		return Explanation{Code: ExplainNone, Detail: detailFamily}
	}
	if t := act.match(groups, feats, lag); t != nil {
		w := time.Duration(e.pc.Corroboration.Window)
		pending := e.needsCorroboration(a, t) && !e.corroborated(a, feats, w)
		if pending && final {
			return Explanation{Code: ExplainNone, Detail: detailUncorroborated + ": template " + strconv.FormatInt(t.ID, 10) +
				" (" + t.Description + ") fits, but within " + fmtDuration(w) +
				" of the access no colleague of the department opened the record, the user did not at another sitting, and was on no care team of the patient"}
		}
		code := ExplainDeptPattern
		switch {
		case t.Status == StatusConfigured:
			code = ExplainConfigured
		case t.Feature == FeatTeamDept:
			code = ExplainSameDeptTeam
		}
		src := "learnt"
		switch t.Status {
		case StatusConfigured:
			src = "configured"
		case StatusApproved:
			src = "approved"
		}
		x := Explanation{Explained: true, Code: code, Template: t.ID, Pending: pending,
			Detail: "template " + strconv.FormatInt(t.ID, 10) + " (" + src + "): " + t.Description}
		if pending {
			x.Detail += "; a sensitive record: the privacy rules judge it unless a colleague's access, another sitting of the user or a care-team tie within " +
				fmtDuration(w) + " corroborates it"
		}
		return x
	}
	if !a.Found {
		return Explanation{Code: ExplainNone, Detail: detailUnknownPatient}
	}
	d := detailNoTemplate
	if a.Department != "" {
		d += " of department " + a.Department
	}
	return Explanation{Code: ExplainNone, Detail: d + " fits the patient's state"}
}

// Annotate writes an explanation into an access event.
func (x Explanation) Annotate(ev *event.Event) {
	ev.Set(FieldExplained, strconv.FormatBool(x.Explained))
	ev.Set(FieldExplanation, x.Code)
	ev.Set(FieldExplanationDetail, x.Detail)
	if x.Template != 0 {
		ev.Set(FieldExplanationID, strconv.FormatInt(x.Template, 10))
	} else {
		ev.Delete(FieldExplanationID)
	}
	if x.Pending {
		ev.Set(FieldCorroboration, "pending")
	} else {
		ev.Delete(FieldCorroboration)
	}
}
