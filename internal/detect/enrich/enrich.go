// Package enrich adds to events, before the detector matches them, the
// context Vigil's healthcare rules need and the sources do not carry: who
// the acting user is in the workforce directory (department, role,
// terminated or not), what the directory knows of the patient (VIP and
// confidentiality flags, whether the patient is a member of staff), how
// user and patient are related (same family name, same address, next of
// kin, co-worker, the user's own record), whether the user is on the
// patient's care team at the event time, and whether the access falls
// outside the user's usual hours (a baseline learnt from the stream).
//
// Lookups go to the directory (SQLite) only on a cache miss: workers and
// patients are kept in bounded LRU caches with a time to live, events of
// other sources cost a single pass over their fields and no lookup.
// Field names and matching rules are documented in
// docs/healthcare-detection.md. Nothing this package logs contains
// patient data or user names.
package enrich

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigil-siem/vigil/internal/atomicfile"
	"github.com/vigil-siem/vigil/internal/directory"
	"github.com/vigil-siem/vigil/internal/event"
)

// Field names written by the enricher.
const (
	FieldWorkforceEmployeeID  = "healthcare.workforce.employee_id"
	FieldWorkforceDepartment  = "healthcare.workforce.department"
	FieldWorkforceRole        = "healthcare.workforce.role"
	FieldWorkforceManagerID   = "healthcare.workforce.manager_id"
	FieldWorkforceStatus      = "healthcare.workforce.status"
	FieldWorkforceTerminated  = "healthcare.workforce.terminated"
	FieldWorkforceTermination = "healthcare.workforce.termination_date"

	FieldPatientConfidential = "healthcare.patient.confidential"
	FieldPatientFlags        = "healthcare.patient.flags"
	FieldPatientWorkforce    = "healthcare.patient.workforce"
	FieldPatientDeceased     = "healthcare.patient.deceased"
	FieldPatientDeceasedTime = "healthcare.patient.deceased_time"

	FieldRelSelf           = "healthcare.relationship.self"
	FieldRelFamily         = "healthcare.relationship.family"
	FieldRelNextOfKin      = "healthcare.relationship.next_of_kin"
	FieldRelSameAddress    = "healthcare.relationship.same_address"
	FieldRelSameFamilyName = "healthcare.relationship.same_family_name"
	FieldRelCoworker       = "healthcare.relationship.coworker"
	FieldRelCoworkerDept   = "healthcare.relationship.coworker_same_department"
	FieldRelSamePhone      = "healthcare.relationship.same_phone"
	FieldRelNeighbour      = "healthcare.relationship.neighbour"
	FieldRelTypes          = "healthcare.relationship.types"

	FieldOnCareTeam  = "healthcare.access.on_care_team"
	FieldOutsideHour = "healthcare.access.outside_usual_hours"
	// FieldCareTeamAdded is how many seconds before the access Vigil
	// recorded the care-team membership that puts the user on the team,
	// set only when every such membership was added to a stay already
	// open (not with its admission): a user added to a care team, then
	// opening the record, is how an HL7 feed is abused to hide snooping.
	FieldCareTeamAdded = "healthcare.access.care_team_added_seconds"
)

// StatusNotInRoster is healthcare.workforce.status for a user the workforce
// roster (which has members) does not know.
const StatusNotInRoster = "not_in_roster"

// Directory is what the enricher reads; *directory.Store provides it.
type Directory interface {
	WorkerByEHRUser(ctx context.Context, id string) (*directory.Worker, error)
	Worker(ctx context.Context, employeeID string) (*directory.Worker, error)
	Workers(ctx context.Context, q directory.WorkerQuery) ([]directory.Worker, error)
	PatientByIdentifier(ctx context.Context, value, authority string, anyAuthority bool) (*directory.Patient, error)
	Encounters(ctx context.Context, q directory.EncounterQuery) ([]directory.Encounter, error)
	// StaffDepartments maps provider, EHR user and employee ids (lower
	// case) to departments: the departments of care-team members.
	StaffDepartments(ctx context.Context) (map[string]string, error)
	// Links are the patient's orders, results, medications and
	// appointments (from the order and scheduling feeds, when present);
	// SectionDepartments the departments seen filling each section.
	Links(ctx context.Context, patientID int64, limit int) ([]directory.Link, error)
	SectionDepartments(ctx context.Context) (map[string][]string, error)
}

var _ Directory = (*directory.Store)(nil)

// Config configures an Enricher.
type Config struct {
	Directory Directory
	// Location is the time zone of working hours and termination dates
	// (default: the local zone).
	Location *time.Location
	// CareTeamGrace extends a care-team membership past its end (or the
	// discharge), for the notes written afterwards (default 24h).
	CareTeamGrace time.Duration
	// CacheSize bounds each cache (workers, patients), in entries
	// (default 20,000).
	CacheSize int
	// CacheTTL is how long a directory record is used before it is read
	// again (default 60s); NegativeTTL the same for "not in the
	// directory" (default 10s).
	CacheTTL, NegativeTTL time.Duration
	// PatientTTL is how long a patient's record is used before it is read
	// again (default CacheTTL; 10 minutes with a negative RefreshAfter:
	// the caller Forgets a patient whenever the directory learns of them,
	// and every cached patient is dropped when the roster's staff change —
	// checked at most every CacheTTL — so the expiry is only a backstop).
	// Reading records again is most of the enrichment's cost in a long
	// import.
	PatientTTL time.Duration
	// RefreshAfter: when a user is not on a cached patient's care team and
	// the record is older than this, it is read again before concluding
	// (an admission may just have arrived; default 2s). Negative: never —
	// for callers that Forget a patient whenever the directory learns
	// something of them (the privacy annotation, which sees the HL7
	// messages pass).
	RefreshAfter time.Duration
	Baseline     BaselineConfig
	// StatePath keeps the hours baseline across restarts ("": not kept,
	// relearnt from the stream).
	StatePath string
	// SaveEvery is how often Run saves the baseline (default 1 minute).
	SaveEvery time.Duration
	Log       *slog.Logger
	// Now is the wall clock of cache expiry (default time.Now).
	Now func() time.Time
}

// Stats are the enricher's counters.
type Stats struct {
	Events          uint64 // events given healthcare context
	WorkerLookups   uint64 // directory reads of workers (cache misses)
	PatientLookups  uint64 // directory reads of patients (cache misses and refreshes)
	RosterSearches  uint64 // roster searches by name, for patients who are staff (cache misses)
	LookupErrors    uint64
	BaselineUsers   int
	BaselineEvicted uint64
}

// Enricher adds healthcare context to events. It is safe for concurrent
// use.
type Enricher struct {
	cfg      Config
	workers  *lru[*workerInfo]
	patients *lru[*patientInfo]
	searches *lru[[]*workerInfo] // roster searches by name
	hours    *baseline

	rosterMu      sync.Mutex
	rosterKnown   bool // the roster has members
	rosterChecked time.Time
	staffMu       sync.Mutex // guards the refresh of staff and sections
	staff         atomic.Pointer[staffIndex]
	sections      atomic.Pointer[sectionIndex]
	clinical      atomic.Uint64 // order, result … messages seen (sections learnt from them)

	events, workerLookups, patientLookups, rosterSearches, lookupErrors atomic.Uint64
	// forgets counts the patients dropped from the cache: a record read
	// while one was dropped may be older than the drop, and is not kept.
	forgets atomic.Uint64

	logMu      sync.Mutex
	lastLog    time.Time
	suppressed int
}

// New returns an enricher, reading the baseline state file when there is
// one (an unreadable state is logged and learnt afresh).
func New(cfg Config) (*Enricher, error) {
	if cfg.Directory == nil {
		return nil, errors.New("enrich: no directory")
	}
	if cfg.Location == nil {
		cfg.Location = time.Local
	}
	if cfg.CareTeamGrace == 0 {
		cfg.CareTeamGrace = 24 * time.Hour
	}
	if cfg.CacheSize <= 0 {
		cfg.CacheSize = 20_000
	}
	if cfg.CacheTTL <= 0 {
		cfg.CacheTTL = time.Minute
	}
	if cfg.NegativeTTL <= 0 {
		cfg.NegativeTTL = 10 * time.Second
	}
	if cfg.RefreshAfter == 0 {
		cfg.RefreshAfter = 2 * time.Second
	}
	if cfg.PatientTTL <= 0 {
		cfg.PatientTTL = cfg.CacheTTL
		if cfg.RefreshAfter < 0 {
			cfg.PatientTTL = 10 * time.Minute
		}
	}
	if cfg.SaveEvery <= 0 {
		cfg.SaveEvery = time.Minute
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	e := &Enricher{
		cfg:      cfg,
		workers:  newLRU[*workerInfo](cfg.CacheSize),
		patients: newLRU[*patientInfo](cfg.CacheSize),
		searches: newLRU[[]*workerInfo](cfg.CacheSize),
		hours:    newBaseline(cfg.Baseline, cfg.Location),
	}
	if cfg.StatePath != "" {
		data, err := os.ReadFile(cfg.StatePath)
		switch {
		case errors.Is(err, os.ErrNotExist):
		case err != nil:
			return nil, fmt.Errorf("enrich: read baseline state: %w", err)
		default:
			skipped, err := e.hours.read(bytes.NewReader(data))
			if err != nil {
				cfg.Log.Warn("hours baseline not restored; learning afresh", "file", cfg.StatePath, "err", err)
			} else {
				cfg.Log.Info("hours baseline restored", "users", e.hours.size(), "skipped", skipped)
			}
		}
	}
	return e, nil
}

// Stats returns the counters.
func (e *Enricher) Stats() Stats {
	e.hours.mu.Lock()
	ev := e.hours.evicted
	e.hours.mu.Unlock()
	return Stats{
		Events: e.events.Load(), WorkerLookups: e.workerLookups.Load(), PatientLookups: e.patientLookups.Load(),
		RosterSearches: e.rosterSearches.Load(),
		LookupErrors:   e.lookupErrors.Load(), BaselineUsers: e.hours.size(), BaselineEvicted: ev,
	}
}

// Run saves the baseline every SaveEvery and once more when ctx ends.
func (e *Enricher) Run(ctx context.Context) {
	if e.cfg.StatePath == "" {
		return
	}
	t := time.NewTicker(e.cfg.SaveEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			if err := e.Save(); err != nil {
				e.cfg.Log.Error("hours baseline not saved", "err", err)
			}
			return
		case <-t.C:
			if err := e.Save(); err != nil {
				e.cfg.Log.Warn("hours baseline not saved", "err", err)
			}
		}
	}
}

// Save writes the baseline to StatePath when it changed.
func (e *Enricher) Save() error {
	if e.cfg.StatePath == "" {
		return nil
	}
	e.hours.mu.Lock()
	dirty := e.hours.dirty
	e.hours.mu.Unlock()
	if !dirty {
		return nil
	}
	var buf bytes.Buffer
	if err := e.hours.write(&buf); err != nil {
		return err
	}
	if err := atomicfile.Write(e.cfg.StatePath, buf.Bytes()); err != nil {
		return fmt.Errorf("enrich: save baseline: %w", err)
	}
	return nil
}

// view is what Enrich reads from an event, in one pass over its fields.
type view struct {
	module, category, user, patient, authority string
	dept, role, breakGlass                     string
	hl7Type                                    string // healthcare.hl7.message_type
}

func (v *view) read(ev *event.Event) {
	for i := range ev.Fields {
		f := &ev.Fields[i]
		switch f.Name {
		case "event.module":
			v.module = f.Value
		case "event.category":
			v.category = f.Value
		case "user.name":
			v.user = f.Value
		case "healthcare.patient.id":
			v.patient = f.Value
		case "healthcare.patient.id_authority":
			v.authority = f.Value
		case FieldWorkforceDepartment:
			v.dept = f.Value
		case FieldWorkforceRole:
			v.role = f.Value
		case "healthcare.break_glass":
			v.breakGlass = f.Value
		case "healthcare.hl7.message_type":
			v.hl7Type = f.Value
		}
	}
}

// Access is one access to a patient's record as the enricher sees it, for
// the privacy analysis that follows it (explanation, rules): who acted and
// when, what the roster and the directory say of them and of the patient,
// how the two are related, and the patient's stays with their care teams.
// Encounters are shared with the enricher's cache: read only.
type Access struct {
	User   string
	At     time.Time
	Module string
	// Department and Role are the event's (an EHR export's login
	// department), else the roster's.
	Department, Role string
	Known            bool // the user is in the roster
	Terminated       bool
	EmployeeID       string
	// UserIDs are the ids the user may appear under in care teams.
	UserIDs    []string
	Patient    string
	Found      bool // the patient is in the directory
	BreakGlass bool
	// OnCareTeam: the user serves on a care team of the patient at At
	// (with the care-team grace).
	OnCareTeam                    bool
	Confidential, Deceased, Staff bool
	DeceasedAt                    time.Time // zero: unknown
	Rel                           Relationship
	Encounters                    []Encounter
	// Links are the patient's orders, results, medications and
	// appointments, the most recent first (none without those feeds);
	// Sections maps a link's section (lower case) to the departments
	// seen filling it. Both are shared: read only.
	Links    []directory.Link
	Sections map[string][]string
}

// Relationship is how the acting user and the patient are related (see
// the relationship fields).
type Relationship struct {
	Self, Family, NextOfKin, SameAddress, SamePhone, SameFamilyName, Coworker, CoworkerSameDept, Neighbour bool
}

// Encounter is a stay of the patient as the directory knows it.
type Encounter struct {
	Class string
	// Location and PriorLocation are points of care (PV1-3.1, PV1-6.1);
	// Service the hospital service (PV1-10).
	Location, PriorLocation, Service string
	Admit, Discharge                 time.Time // zero: unknown, not yet
	// LocationSince is when the patient moved to Location (zero: unknown,
	// or never moved); before it they were at PriorLocation.
	LocationSince time.Time
	Members       []Member
}

// LocationAt returns the points of care of the stay at t: the prior
// location before the last transfer, the current one after it, both when
// the directory does not know when the transfer took place.
func (e *Encounter) LocationAt(t time.Time) (string, string) {
	switch {
	case e.PriorLocation == "" || e.PriorLocation == e.Location:
		return e.Location, ""
	case e.LocationSince.IsZero():
		return e.Location, e.PriorLocation
	case t.Before(e.LocationSince):
		return e.PriorLocation, ""
	}
	return e.Location, ""
}

// Member is a care-team membership.
type Member struct {
	ID, Role   string
	Department string // of the worker with this provider id, from the roster
	Begin, End time.Time
	// AddedAt is when Vigil recorded the membership; AddedToOpenStay
	// that it was added to a stay already open (not with the admission).
	AddedAt         time.Time
	AddedToOpenStay bool
}

// Active reports whether the stay is in progress at t: admitted at or
// before t, and not discharged before t.
func (e *Encounter) Active(t time.Time) bool {
	return !e.Admit.IsZero() && !t.Before(e.Admit) && (e.Discharge.IsZero() || !t.After(e.Discharge))
}

// Enrich adds the healthcare context to ev (see the package doc). Events
// of other sources are left as they are, without any lookup.
func (e *Enricher) Enrich(ctx context.Context, ev *event.Event) {
	e.enrich(ctx, ev, nil)
}

// EnrichAccess is Enrich, which also fills acc when ev is an access by a
// user to a patient's record (an EHR, FHIR or ATNA event naming both), and
// reports whether it was.
func (e *Enricher) EnrichAccess(ctx context.Context, ev *event.Event, acc *Access) bool {
	return e.enrich(ctx, ev, acc)
}

// IsAccess reports whether an event is an access to a patient's record
// by a user: a record the enricher explains.
func IsAccess(ev *event.Event) bool {
	var v view
	v.read(ev)
	switch v.module {
	case "fhir", "atna", "ehr":
		return v.user != "" && v.patient != ""
	}
	return false
}

// Forget drops what the enricher has cached of a patient (the patient id
// as access events name it), after the directory learnt something new of
// them.
func (e *Enricher) Forget(patient string) {
	e.forgets.Add(1)
	e.patients.remove("|" + patient)
}

// Applied takes note of an HL7 message the directory has applied: an ADT
// drops what is cached of its patient; an order, result or appointment
// gives the cached record its new links (and may teach which departments
// fill a section).
func (e *Enricher) Applied(ctx context.Context, ev *event.Event) {
	var v view
	v.read(ev)
	if v.module != "hl7" || v.patient == "" {
		return
	}
	if v.hl7Type != "" && v.hl7Type != "ADT" {
		e.clinical.Add(1)
		e.relink(ctx, v.patient)
		return
	}
	e.Forget(v.patient)
}

// Reexamine fills acc for an access event as EnrichAccess does, with the
// patient's record read again from the directory (to see what happened
// since the access: a later admission, a care-team membership), without
// counting the access in the usual-hours baseline. Fields it sets on ev
// are meant to be thrown away: pass a copy.
func (e *Enricher) Reexamine(ctx context.Context, ev *event.Event, acc *Access) bool {
	var v view
	v.read(ev)
	switch v.module {
	case "fhir", "atna", "ehr":
	default:
		return false
	}
	if v.patient == "" || v.user == "" {
		return false
	}
	e.Forget(v.patient)
	return e.enrichView(ctx, ev, acc, v, false)
}

func (e *Enricher) enrich(ctx context.Context, ev *event.Event, acc *Access) bool {
	var v view
	v.read(ev)
	return e.enrichView(ctx, ev, acc, v, true)
}

func (e *Enricher) enrichView(ctx context.Context, ev *event.Event, acc *Access, v view, observe bool) bool {
	access, hl7 := false, false
	switch v.module {
	case "fhir", "atna", "ehr":
		access = true
	case "hl7":
		hl7 = true
	}
	auth := v.category == "authentication"
	if !access && !hl7 && !auth {
		return false
	}
	if !access && !hl7 && (v.user == "" || strings.HasSuffix(v.user, "$")) {
		return false // machine accounts, anonymous logons
	}
	at := ev.Time
	if at.IsZero() {
		at = e.cfg.Now()
	}
	e.events.Add(1)
	var w *workerInfo
	if v.user != "" && !hl7 {
		w = e.worker(ctx, v.user)
		if w != nil {
			w.annotate(ev, at)
		} else if access && e.haveRoster(ctx) {
			ev.Set(FieldWorkforceStatus, StatusNotInRoster)
		}
	}
	if v.patient == "" || (!access && !hl7) {
		return false
	}
	authority := ""
	if hl7 {
		authority = v.authority
	}
	// An HL7 event reaches the detector after the MLLP listener applied
	// its ADT content to the directory: what is cached of the patient is
	// stale from now on (a new stay, a new care team, a new VIP flag).
	refresh := hl7
	switch {
	case hl7 && v.hl7Type != "" && v.hl7Type != "ADT":
		// An order, result or appointment adds links and may teach which
		// departments fill a section; the rest of the record stands: the
		// cached record takes the new links (one read, not the whole
		// record again).
		e.clinical.Add(1)
		e.relink(ctx, v.patient)
		refresh = false
	case hl7:
		e.forgets.Add(1)
		e.patients.remove("|" + v.patient)
	}
	p := e.patient(ctx, v.patient, authority, refresh)
	if !access || v.user == "" {
		if p != nil && p.found {
			p.annotate(ev)
		}
		return false
	}
	ids := userIDs(v.user, w)
	var m careTeamMatch
	if p != nil && p.found {
		m = p.careTeam(ids, at, e.cfg.CareTeamGrace)
		if !m.on && e.cfg.RefreshAfter > 0 && e.cfg.Now().Sub(p.fetched) > e.cfg.RefreshAfter {
			// An admission or a care-team change may just have come.
			if q := e.patient(ctx, v.patient, authority, true); q != nil && q.found {
				p = q
				m = p.careTeam(ids, at, e.cfg.CareTeamGrace)
			}
		}
	}
	var rel Relationship
	if p != nil && p.found {
		p.annotate(ev)
		ev.Set(FieldOnCareTeam, boolText(m.on))
		// Clocks differ (the EHR's, Vigil's) and event times may be
		// whole seconds: an access stamped a little before Vigil recorded
		// the membership counts as right after it; much earlier ones (an
		// import of older accesses) say nothing.
		if age := at.Sub(m.recorded); m.on && m.lateAdded && age > -event.DefaultMaxSkew {
			ev.Set(FieldCareTeamAdded, strconv.FormatInt(int64(max(age, 0)/time.Second), 10))
		}
		if w != nil {
			rel = relate(ev, w, p)
		}
	}
	if observe {
		switch e.hours.observe(strings.ToLower(v.user), at) {
		case hoursUsual:
			ev.Set(FieldOutsideHour, "false")
		case hoursOutside:
			ev.Set(FieldOutsideHour, "true")
		}
	}
	if acc == nil {
		return true
	}
	*acc = Access{User: v.user, At: at, Module: v.module, Department: v.dept, Role: v.role, UserIDs: ids, Patient: v.patient,
		BreakGlass: v.breakGlass == "true", OnCareTeam: m.on, Rel: rel}
	if w != nil {
		acc.Known, acc.Terminated, acc.EmployeeID = true, w.terminated(at), w.employeeID
		if acc.Department == "" {
			acc.Department = w.department
		}
		if acc.Role == "" {
			acc.Role = w.role
		}
	}
	if p != nil && p.found {
		acc.Found, acc.Confidential, acc.Deceased, acc.Staff = true, p.confid, p.dead, len(p.staff) > 0
		acc.DeceasedAt, acc.Encounters = p.deadAt, p.encs
		if len(p.links) > 0 {
			acc.Links, acc.Sections = p.links, e.sectionDepartments(ctx)
		}
	}
	return true
}

func boolText(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// lookupFailed counts a directory error and logs it at most once a
// minute (the error text of the directory names no values).
func (e *Enricher) lookupFailed(what string, err error) {
	e.lookupErrors.Add(1)
	e.logMu.Lock()
	defer e.logMu.Unlock()
	now := e.cfg.Now()
	if now.Sub(e.lastLog) < time.Minute {
		e.suppressed++
		return
	}
	e.cfg.Log.Warn("directory lookup for enrichment failed; events go on without that context", "lookup", what, "err", err,
		"suppressed", e.suppressed)
	e.lastLog, e.suppressed = now, 0
}

// ---- workers

type workerInfo struct {
	employeeID, department, role, managerID, termDate string
	terminatedFrom                                    time.Time // zero: not terminated
	ids                                               []string  // ids care teams may use for the worker
	families                                          []string
	given                                             string
	addr                                              string
	street                                            string // street without the house number (neighbours)
	phone                                             string
}

func (e *Enricher) worker(ctx context.Context, user string) *workerInfo {
	key := strings.ToLower(user)
	now := e.cfg.Now()
	if w, _, ok := e.workers.get(key, now); ok {
		return w
	}
	e.workerLookups.Add(1)
	var found *directory.Worker
	var lookupErr error
	for _, c := range userCandidates(user) {
		w, err := e.cfg.Directory.WorkerByEHRUser(ctx, c)
		if err == nil {
			found = w
			break
		}
		if !errors.Is(err, directory.ErrNotFound) {
			lookupErr = err
			break
		}
	}
	if found == nil && lookupErr == nil {
		w, err := e.cfg.Directory.Worker(ctx, user)
		switch {
		case err == nil:
			found = w
		case !errors.Is(err, directory.ErrNotFound):
			lookupErr = err
		}
	}
	if lookupErr != nil {
		e.lookupFailed("worker", lookupErr)
		return nil // not cached: try again next time
	}
	if found == nil {
		e.workers.put(key, nil, now, e.cfg.NegativeTTL)
		return nil
	}
	w := newWorkerInfo(found, e.cfg.Location)
	e.workers.put(key, w, now, e.cfg.CacheTTL)
	return w
}

// userCandidates are the forms of a login tried against EHR user ids:
// as given, without a DOMAIN\ prefix, without an @domain suffix.
func userCandidates(u string) []string {
	out := []string{u}
	if i := strings.LastIndexByte(u, '\\'); i >= 0 && i+1 < len(u) {
		out = append(out, u[i+1:])
	}
	if i := strings.IndexByte(u, '@'); i > 0 {
		out = append(out, u[:i])
	}
	return out
}

func newWorkerInfo(w *directory.Worker, loc *time.Location) *workerInfo {
	wi := &workerInfo{employeeID: w.EmployeeID, department: w.Department, role: w.Role, managerID: w.ManagerID, termDate: w.TerminationDate}
	if w.TerminationDate != "" {
		if d, err := time.ParseInLocation("2006-01-02", w.TerminationDate, loc); err == nil {
			wi.terminatedFrom = d.AddDate(0, 0, 1)
		}
	}
	for _, id := range []string{w.EHRUserID, w.EmployeeID, w.ProviderID} {
		if id != "" && !contains(wi.ids, id) {
			wi.ids = append(wi.ids, id)
		}
	}
	family, given := w.FamilyName, w.GivenName
	if family == "" {
		family, given = splitFullName(w.FullName)
	}
	wi.families = familyKeys(family)
	wi.given = givenKey(given)
	wi.addr = addressKey(w.Address, "", w.City, w.PostalCode)
	wi.street = streetKey(w.Address, w.City, w.PostalCode)
	wi.phone = phoneKey(w.Phone)
	return wi
}

func (w *workerInfo) terminated(at time.Time) bool {
	return !w.terminatedFrom.IsZero() && !at.Before(w.terminatedFrom)
}

func (w *workerInfo) annotate(ev *event.Event, at time.Time) {
	ev.Set(FieldWorkforceEmployeeID, w.employeeID)
	if w.department != "" {
		ev.SetIfAbsent(FieldWorkforceDepartment, w.department)
	}
	if w.role != "" {
		ev.SetIfAbsent(FieldWorkforceRole, w.role)
	}
	if w.managerID != "" {
		ev.Set(FieldWorkforceManagerID, w.managerID)
	}
	if w.termDate != "" {
		ev.Set(FieldWorkforceTermination, w.termDate)
	}
	if w.terminated(at) {
		ev.Set(FieldWorkforceStatus, "terminated")
		ev.Set(FieldWorkforceTerminated, "true")
	} else {
		ev.Set(FieldWorkforceStatus, "active")
		ev.Set(FieldWorkforceTerminated, "false")
	}
}

// userIDs are the ids under which the acting user may appear in care
// teams: the login itself and the worker's EHR user, employee and
// provider ids.
func userIDs(user string, w *workerInfo) []string {
	if w == nil {
		return []string{user}
	}
	if contains(w.ids, user) {
		return w.ids
	}
	return append([]string{user}, w.ids...)
}

// ---- patients

type patientInfo struct {
	found   bool
	fetched time.Time
	flags   string // JSON array
	confid  bool
	dead    bool
	deadAt  time.Time
	names   []nameKey
	addrs   []string
	streets []string
	phones  []string
	nok     []nokKey
	staff   []staffRef // workforce records that are this patient
	encs    []Encounter
	links   []directory.Link
	dirID   int64 // the directory's record
}

type nameKey struct {
	families []string
	given    string
}

type nokKey struct {
	name   nameKey
	addr   string
	phones []string
}

type staffRef struct {
	employeeID, department string
}

func (e *Enricher) patient(ctx context.Context, id, authority string, refresh bool) *patientInfo {
	key := authority + "|" + id
	now := e.cfg.Now()
	if !refresh {
		if e.cfg.PatientTTL > e.cfg.CacheTTL {
			// At most every CacheTTL: drops the cached patients when the
			// staff changed.
			e.staffDepartments(ctx)
		}
		if p, _, ok := e.patients.get(key, now); ok {
			return p
		}
	}
	e.patientLookups.Add(1)
	gen := e.forgets.Load()
	p, err := e.fetchPatient(ctx, id, authority)
	if err != nil {
		e.lookupFailed("patient", err)
		return nil
	}
	p.fetched = now
	ttl := e.cfg.PatientTTL
	if !p.found {
		ttl = e.cfg.NegativeTTL
	}
	if e.forgets.Load() == gen {
		// Not when a patient was dropped meanwhile: this copy may have
		// been read before the directory changed, and would stay.
		e.patients.put(key, p, now, ttl)
	}
	return p
}

func (e *Enricher) fetchPatient(ctx context.Context, id, authority string) (*patientInfo, error) {
	rec, err := e.cfg.Directory.PatientByIdentifier(ctx, id, authority, authority == "")
	if errors.Is(err, directory.ErrNotFound) || errors.Is(err, directory.ErrAmbiguous) {
		return &patientInfo{}, nil
	}
	if err != nil {
		return nil, err
	}
	p := &patientInfo{found: true, dead: rec.Deceased, deadAt: rec.DeceasedTime, dirID: rec.ID}
	vip := rec.VIP != "" && !strings.EqualFold(rec.VIP, "N")
	protected := strings.EqualFold(rec.Protection, "Y")
	restricted := len(rec.Restrictions) > 0
	p.confid = vip || protected || restricted
	for _, n := range rec.Names {
		p.names = append(p.names, nameKey{families: familyKeys(n.Family), given: givenKey(n.Given)})
	}
	for _, a := range rec.Addresses {
		if k := addressKey(a.Street, a.Other, a.City, a.PostalCode); k != "" && !contains(p.addrs, k) {
			p.addrs = append(p.addrs, k)
		}
		if k := streetKey(a.Street, a.City, a.PostalCode); k != "" && !contains(p.streets, k) {
			p.streets = append(p.streets, k)
		}
	}
	for _, ph := range rec.Phones {
		if k := phoneKey(ph.Number); k != "" && !contains(p.phones, k) {
			p.phones = append(p.phones, k)
		}
	}
	for _, n := range rec.NextOfKin {
		k := nokKey{name: nameKey{families: familyKeys(n.Name.Family), given: givenKey(n.Name.Given)}}
		if n.Address != nil {
			k.addr = addressKey(n.Address.Street, n.Address.Other, n.Address.City, n.Address.PostalCode)
		}
		for _, ph := range n.Phones {
			if pk := phoneKey(ph.Number); pk != "" {
				k.phones = append(k.phones, pk)
			}
		}
		p.nok = append(p.nok, k)
	}
	encs, err := e.cfg.Directory.Encounters(ctx, directory.EncounterQuery{PatientID: rec.ID, Limit: 100})
	if err != nil {
		return nil, err
	}
	staff := e.staffDepartments(ctx)
	for _, enc := range encs {
		if enc.Status == directory.StatusCancelled {
			continue
		}
		ei := Encounter{Class: enc.Class, Location: PointOfCare(enc.Location), PriorLocation: PointOfCare(enc.PriorLocation),
			Service: enc.HospitalService, Admit: enc.AdmitTime, Discharge: enc.DischargeTime, LocationSince: enc.LocationSince}
		if ei.Admit.IsZero() {
			ei.Admit = enc.CreatedAt
		}
		for _, m := range enc.CareTeam {
			mi := Member{ID: m.ProviderID, Role: m.Role, Department: staff[strings.ToLower(m.ProviderID)], Begin: m.Begin, End: m.End}
			if m.Added != nil {
				mi.AddedAt, mi.AddedToOpenStay = m.Added.At, !m.AddedWithEncounter
			}
			ei.Members = append(ei.Members, mi)
		}
		p.encs = append(p.encs, ei)
	}
	if p.links, err = e.cfg.Directory.Links(ctx, rec.ID, maxLinks); err != nil {
		return nil, err
	}
	// Members of staff who are this patient: same name, and the same
	// address or phone. The roster is searched by the family name as
	// written and its parts (the roster search is a case-insensitive
	// substring match on raw names); the candidates are then compared on
	// normalised keys.
	for _, n := range rec.Names {
		for _, q := range searchTerms(n.Family) {
			cands, err := e.rosterSearch(ctx, q)
			if err != nil {
				return nil, err
			}
			for _, wi := range cands {
				if p.isPerson(wi) && !p.hasStaff(wi.employeeID) {
					p.staff = append(p.staff, staffRef{employeeID: wi.employeeID, department: wi.department})
				}
			}
		}
	}
	var flags []string
	for _, f := range []struct {
		on   bool
		name string
	}{{vip, "vip"}, {protected, "protected"}, {restricted, "restricted"}, {rec.Deceased, "deceased"}, {len(p.staff) > 0, "workforce"}} {
		if f.on {
			flags = append(flags, `"`+f.name+`"`)
		}
	}
	p.flags = "[" + strings.Join(flags, ",") + "]"
	return p, nil
}

// searchTerms are the roster searches for a family name: the name and
// each part of a compound name, in lower case, at most four, each at
// least three characters.
func searchTerms(family string) []string {
	var out []string
	add := func(s string) {
		s = strings.ToLower(strings.TrimSpace(s))
		if len([]rune(s)) >= 3 && !contains(out, s) && len(out) < 4 {
			out = append(out, s)
		}
	}
	add(family)
	for _, p := range strings.FieldsFunc(family, func(r rune) bool { return r == '-' || r == ' ' || r == '\'' }) {
		add(p)
	}
	return out
}

// maxCachedSearch bounds the size of a cached roster search result.
const maxCachedSearch = 200

// rosterSearch returns the workers whose names contain q, through a
// cache (families share names).
func (e *Enricher) rosterSearch(ctx context.Context, q string) ([]*workerInfo, error) {
	now := e.cfg.Now()
	if ws, _, ok := e.searches.get(q, now); ok {
		return ws, nil
	}
	e.rosterSearches.Add(1)
	ws, err := e.cfg.Directory.Workers(ctx, directory.WorkerQuery{Q: q, Limit: 1000})
	if err != nil {
		return nil, err
	}
	out := make([]*workerInfo, len(ws))
	for i := range ws {
		out[i] = newWorkerInfo(&ws[i], e.cfg.Location)
	}
	if len(out) <= maxCachedSearch {
		e.searches.put(q, out, now, e.cfg.CacheTTL)
	}
	return out, nil
}

func (p *patientInfo) hasStaff(employeeID string) bool {
	for _, s := range p.staff {
		if s.employeeID == employeeID {
			return true
		}
	}
	return false
}

// nameMatches: a family key in common and the same first given name.
func (n nameKey) matches(families []string, given string) bool {
	return n.given != "" && n.given == given && intersects(n.families, families)
}

// isPerson reports whether a worker record is this patient: the same name
// and the same address or phone.
func (p *patientInfo) isPerson(w *workerInfo) bool {
	named := false
	for _, n := range p.names {
		if n.matches(w.families, w.given) {
			named = true
			break
		}
	}
	if !named {
		return false
	}
	return (w.addr != "" && contains(p.addrs, w.addr)) || (w.phone != "" && contains(p.phones, w.phone))
}

func (p *patientInfo) annotate(ev *event.Event) {
	ev.Set(FieldPatientConfidential, boolText(p.confid))
	ev.Set(FieldPatientFlags, p.flags)
	ev.Set(FieldPatientWorkforce, boolText(len(p.staff) > 0))
	if p.dead {
		ev.SetIfAbsent(FieldPatientDeceased, "true")
		if !p.deadAt.IsZero() {
			ev.SetIfAbsent(FieldPatientDeceasedTime, p.deadAt.UTC().Format(time.RFC3339))
		}
	}
}

// careTeamMatch is what careTeam found.
type careTeamMatch struct {
	on bool
	// lateAdded: every membership that puts the user on the team was
	// added to a stay already open; recorded is when the earliest of
	// them was recorded.
	lateAdded bool
	recorded  time.Time
}

// careTeam is onCareTeam, also telling whether the user got on the team
// only by memberships added to open stays, and since when.
func (p *patientInfo) careTeam(ids []string, at time.Time, grace time.Duration) careTeamMatch {
	var m careTeamMatch
	for i := range p.encs {
		enc := &p.encs[i]
		for j := range enc.Members {
			mb := &enc.Members[j]
			if !containsFold(ids, mb.ID) || !mb.Covers(enc, at, 0, grace) {
				continue
			}
			if !m.on {
				m.on, m.lateAdded, m.recorded = true, true, mb.AddedAt
			}
			if !mb.AddedToOpenStay || mb.AddedAt.IsZero() {
				m.lateAdded = false // an established membership
			} else if mb.AddedAt.Before(m.recorded) {
				m.recorded = mb.AddedAt
			}
		}
	}
	if !m.on {
		m.lateAdded = false
	}
	return m
}

// haveRoster reports whether the workforce roster has members (checked
// once per CacheTTL): without one, no user is "not in the roster".
func (e *Enricher) haveRoster(ctx context.Context) bool {
	now := e.cfg.Now()
	e.rosterMu.Lock()
	defer e.rosterMu.Unlock()
	if !e.rosterChecked.IsZero() && now.Sub(e.rosterChecked) < e.cfg.CacheTTL {
		return e.rosterKnown
	}
	ws, err := e.cfg.Directory.Workers(ctx, directory.WorkerQuery{Limit: 1})
	if err != nil {
		e.lookupFailed("roster", err)
		return e.rosterKnown
	}
	e.rosterKnown, e.rosterChecked = len(ws) > 0, now
	return e.rosterKnown
}

// onCareTeam replicates directory.OnCareTeam over the cached record: a
// membership runs from its begin (else the admission) to its end (else
// the discharge, else open) plus grace; cancelled encounters were left
// out when the record was read.
func (p *patientInfo) onCareTeam(ids []string, at time.Time, grace time.Duration) bool {
	return p.careTeam(ids, at, grace).on
}

// Covers reports whether the membership, in the stay enc, covers at: from
// its begin (else the admission) minus before to its end (else the
// discharge, else open) plus after.
func (m *Member) Covers(enc *Encounter, at time.Time, before, after time.Duration) bool {
	b := m.Begin
	if b.IsZero() {
		b = enc.Admit
	}
	if !b.IsZero() && at.Before(b.Add(-before)) {
		return false
	}
	end := m.End
	if end.IsZero() {
		end = enc.Discharge
	}
	return end.IsZero() || !at.After(end.Add(after))
}

func containsFold(l []string, s string) bool {
	for _, x := range l {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// is reports whether a next-of-kin entry names the worker: the same phone
// number; or the same name, confirmed by the same address when the entry
// has an address or phone (so that a namesake is not taken for family).
func (k *nokKey) is(w *workerInfo) bool {
	if w.phone != "" && contains(k.phones, w.phone) {
		return true
	}
	if !k.name.matches(w.families, w.given) {
		return false
	}
	if k.addr == "" && len(k.phones) == 0 {
		return true
	}
	return w.addr != "" && k.addr == w.addr
}

// relate sets the relationship fields between the acting worker and the
// patient, and returns them.
//
// Family (a household) is a next-of-kin entry naming the user, or a shared
// family name together with the same address or phone number. Neighbours
// live on the same street (same street name and postal area) at another
// address, and are not family.
func relate(ev *event.Event, w *workerInfo, p *patientInfo) Relationship {
	var r Relationship
	r.Self = p.hasStaff(w.employeeID)
	if !r.Self {
		for _, n := range p.names {
			if intersects(n.families, w.families) {
				r.SameFamilyName = true
				break
			}
		}
		r.SameAddress = w.addr != "" && contains(p.addrs, w.addr)
		r.SamePhone = w.phone != "" && contains(p.phones, w.phone)
		for _, k := range p.nok {
			if k.is(w) {
				r.NextOfKin = true
				break
			}
		}
		for _, s := range p.staff {
			if s.employeeID != w.employeeID {
				r.Coworker = true
				if s.department != "" && strings.EqualFold(s.department, w.department) {
					r.CoworkerSameDept = true
				}
			}
		}
		r.Family = r.NextOfKin || (r.SameFamilyName && (r.SameAddress || r.SamePhone))
		r.Neighbour = !r.Family && !r.SameAddress && w.street != "" && contains(p.streets, w.street)
	}
	ev.Set(FieldRelSelf, boolText(r.Self))
	ev.Set(FieldRelFamily, boolText(r.Family))
	ev.Set(FieldRelNextOfKin, boolText(r.NextOfKin))
	ev.Set(FieldRelSameAddress, boolText(r.SameAddress))
	ev.Set(FieldRelSamePhone, boolText(r.SamePhone))
	ev.Set(FieldRelSameFamilyName, boolText(r.SameFamilyName))
	ev.Set(FieldRelCoworker, boolText(r.Coworker))
	ev.Set(FieldRelCoworkerDept, boolText(r.CoworkerSameDept))
	ev.Set(FieldRelNeighbour, boolText(r.Neighbour))
	var types []string
	for _, t := range []struct {
		on   bool
		name string
	}{{r.Self, `"self"`}, {r.NextOfKin, `"next_of_kin"`}, {r.SameAddress, `"same_address"`}, {r.SamePhone, `"same_phone"`},
		{r.SameFamilyName, `"same_family_name"`}, {r.Coworker, `"coworker"`}, {r.Neighbour, `"neighbour"`}} {
		if t.on {
			types = append(types, t.name)
		}
	}
	ev.Set(FieldRelTypes, "["+strings.Join(types, ",")+"]")
	return r
}

// PointOfCare is the point of care of a location as the directory stores
// it (point^room^bed^facility).
func PointOfCare(loc string) string {
	if i := strings.IndexByte(loc, '^'); i >= 0 {
		return loc[:i]
	}
	return loc
}

// staffIndex is the roster's departments by provider, EHR user and
// employee id, read at most every CacheTTL.
// relink reads the links of a cached patient again (after an order,
// result or appointment message about them).
func (e *Enricher) relink(ctx context.Context, patient string) {
	key := "|" + patient
	now := e.cfg.Now()
	p, stored, ok := e.patients.get(key, now)
	if !ok || p == nil || !p.found {
		return // read whole, links included, by the next access
	}
	e.forgets.Add(1) // a read in flight may predate the message: not cached
	links, err := e.cfg.Directory.Links(ctx, p.dirID, maxLinks)
	if err != nil {
		e.lookupFailed("patient links", err)
		e.patients.remove(key)
		return
	}
	np := *p
	np.links = links
	ttl := e.cfg.PatientTTL - now.Sub(stored)
	if ttl <= 0 {
		e.patients.remove(key)
		return
	}
	e.patients.put(key, &np, now, ttl)
}

// maxLinks bounds the clinical links read per patient (the most recent).
const maxLinks = 200

type sectionIndex struct {
	depts   map[string][]string
	fetched time.Time
	seen    uint64 // clinical messages seen when read
}

// fresh reports whether the index may be used: read within CacheTTL, and
// before the clinical messages seen since doubled (at most 1,000 more) —
// a fast import learns its sections from its first results.
func (s *sectionIndex) fresh(now time.Time, ttl time.Duration, seen uint64) bool {
	return s != nil && now.Sub(s.fetched) < ttl && seen-s.seen < max(1, min(1000, s.seen))
}

// sectionDepartments returns the departments filling each section, read
// again every CacheTTL and as order and result messages arrive (fresh).
func (e *Enricher) sectionDepartments(ctx context.Context) map[string][]string {
	now := e.cfg.Now()
	seen := e.clinical.Load()
	if s := e.sections.Load(); s.fresh(now, e.cfg.CacheTTL, seen) {
		return s.depts
	}
	e.staffMu.Lock()
	defer e.staffMu.Unlock()
	if s := e.sections.Load(); s.fresh(now, e.cfg.CacheTTL, seen) {
		return s.depts
	}
	m, err := e.cfg.Directory.SectionDepartments(ctx)
	if err != nil {
		e.lookupFailed("section departments", err)
		if s := e.sections.Load(); s != nil {
			return s.depts
		}
		return nil
	}
	e.sections.Store(&sectionIndex{depts: m, fetched: now, seen: seen})
	return m
}

type staffIndex struct {
	depts   map[string]string
	fetched time.Time
}

// staffDepartments returns the departments of the workforce by id, read
// again from the directory once the copy is older than CacheTTL (a
// directory error keeps the old copy, or none).
func (e *Enricher) staffDepartments(ctx context.Context) map[string]string {
	now := e.cfg.Now()
	if s := e.staff.Load(); s != nil && now.Sub(s.fetched) < e.cfg.CacheTTL {
		return s.depts
	}
	e.staffMu.Lock()
	defer e.staffMu.Unlock()
	if s := e.staff.Load(); s != nil && now.Sub(s.fetched) < e.cfg.CacheTTL {
		return s.depts
	}
	m, err := e.cfg.Directory.StaffDepartments(ctx)
	if err != nil {
		e.lookupFailed("staff departments", err)
		if s := e.staff.Load(); s != nil {
			return s.depts
		}
		return nil
	}
	if old := e.staff.Load(); old != nil && !maps.Equal(old.depts, m) {
		// Someone joined, left or moved: what the cached patients say of
		// staff (the patient is staff, care-team members' departments)
		// may be stale.
		e.forgets.Add(1)
		e.patients.clear()
	}
	e.staff.Store(&staffIndex{depts: m, fetched: now})
	return m
}
