package privacy

import (
	"context"
	"math"
	"strings"
	"time"

	"github.com/vigil-siem/vigil/internal/detect/enrich"
	"github.com/vigil-siem/vigil/internal/directory"
)

// baseRates are how often a patient is in each feature's state at a random
// time of a period: patient-time in the state over all patients times the
// period. A template's lift is its confidence over this rate.
//
// stays counts, per feature, the stays that put a patient in the
// feature's state during the period (weighted by age, as the miner
// weighs accesses): a group's accesses to patients with the feature per
// such stay say whether the group opens every such patient (billing
// after each discharge, the ED on each ED visit) or a few of them.
type baseRates struct {
	from, to      time.Time
	patients      int
	rates         map[string]float64
	teamDept      map[string]float64 // team_dept, per department (lower case)
	stays         map[string]float64
	teamDeptStays map[string]float64
	computed      time.Time // wall clock
	// hours and teamHours are the patient-hours in each state that
	// rates and teamDept are shares of; grace and half as measured
	// (see computeBaseRates).
	hours, teamHours map[string]float64
	grace, half      time.Duration
	// lagHours[h] is the patient-hours of the period spent h to h+1 hours
	// after a discharge (h below maxLag); discharges the discharge times
	// of the stays that ended up to maxLag before the period or in it:
	// the base rate and the stays of a learnt post-discharge window
	// (after_discharge:<lo>-<hi>).
	lagHours   []float64
	discharges []time.Time
}

// lagRate returns the base rate of a window of lags after a discharge:
// how often a patient is between lo and hi after one at a random time of
// the period (never below one patient's worth, as of).
func (b *baseRates) lagRate(lo, hi time.Duration) float64 {
	if b == nil {
		return 0
	}
	sum := 0.0
	for h := int(lo / time.Hour); h < int(hi/time.Hour) && h < len(b.lagHours); h++ {
		sum += b.lagHours[h]
	}
	r := min(1, sum/(float64(max(b.patients, 1))*b.to.Sub(b.from).Hours()))
	if b.patients > 0 {
		r = max(r, 1/float64(b.patients))
	}
	return r
}

// lagStays returns the (age-weighted) count of stays whose window of
// lags lo to hi after the discharge overlaps the period.
func (b *baseRates) lagStays(lo, hi time.Duration) float64 {
	if b == nil {
		return 0
	}
	n := 0.0
	for _, d := range b.discharges {
		s, e := d.Add(lo), d.Add(hi)
		if !e.After(b.from) || !s.Before(b.to) {
			continue
		}
		w := 1.0
		if b.half > 0 {
			w = math.Exp2(-float64(b.to.Sub(later(s, b.from))) / float64(b.half))
		}
		n += w
	}
	return n
}

// of returns the base rate of a feature. It is never below one patient's
// worth (1/patients): a state no patient was known to be in when the
// rates were measured (a class first seen since) would otherwise give a
// lift of hundreds of thousands from a handful of accesses.
func (b *baseRates) of(feature, dept string) float64 {
	if b == nil {
		return 0
	}
	r := b.rates[feature]
	if feature == FeatTeamDept {
		r = b.teamDept[dept]
	}
	if b.patients > 0 {
		r = max(r, 1/float64(b.patients))
	}
	return r
}

// staysOf returns the (age-weighted) count of stays that put a patient in
// the feature's state during the period.
func (b *baseRates) staysOf(feature, dept string) float64 {
	if b == nil {
		return 0
	}
	if feature == FeatTeamDept {
		return b.teamDeptStays[dept]
	}
	return b.stays[feature]
}

// Directory is what the privacy engine reads from the directory.
type Directory interface {
	EncounterSpans(ctx context.Context, from, to time.Time, fn func(*directory.EncounterSpan) error) error
	PatientCount(ctx context.Context) (int, error)
	StaffDepartments(ctx context.Context) (map[string]string, error)
}

var _ Directory = (*directory.Store)(nil)

// lookBack is how long before a period a stay may have begun (or ended)
// and still put a patient in a state during it: the longest discharged
// window (30 days) and a day.
const lookBack = 31 * 24 * time.Hour

// computeBaseRates measures the base rates over [from, to) from the
// directory's stays. grace is the care-team grace (team_dept counts until
// then after a discharge); half the half-life by which stays are weighed
// by age, as the miner weighs accesses (0: not weighed).
func computeBaseRates(ctx context.Context, dir Directory, from, to time.Time, grace, half time.Duration) (*baseRates, error) {
	if to.Sub(from) < 24*time.Hour {
		mid := from.Add(to.Sub(from) / 2)
		from, to = mid.Add(-12*time.Hour), mid.Add(12*time.Hour)
	}
	b := &baseRates{from: from, to: to, grace: grace, half: half, hours: map[string]float64{}, teamHours: map[string]float64{},
		stays: map[string]float64{}, teamDeptStays: map[string]float64{}, lagHours: make([]float64, int(maxLag/time.Hour))}
	if err := b.accumulate(ctx, dir, from, to, time.Time{}); err != nil {
		return nil, err
	}
	return b, b.normalize(ctx, dir)
}

// extend moves the end of the period to to, reading only the stays that
// can change the rates after the current end (those of the last
// lookBack and since) instead of every stay of the period again: the
// patient-time of each state up to the old end stays as it was, the
// stays counted are aged to the new end, and what happened after the old
// end is added. Stays the directory changed since (a discharge entered
// late) are not read again: the engine measures the whole period afresh
// every few minutes.
func (b *baseRates) extend(ctx context.Context, dir Directory, to time.Time) error {
	old := b.to
	if !to.After(old) {
		return nil
	}
	if b.half > 0 {
		decay := math.Exp2(-float64(to.Sub(old)) / float64(b.half))
		for k := range b.stays {
			b.stays[k] *= decay
		}
		for k := range b.teamDeptStays {
			b.teamDeptStays[k] *= decay
		}
	}
	if err := b.accumulate(ctx, dir, old, to, old); err != nil {
		return err
	}
	b.to = to
	return b.normalize(ctx, dir)
}

// accumulate adds the patient-time in each state within [lo, hi) and
// counts the stays that put a patient in a state during [b.from, hi)
// starting at newFrom or later (zero: all), weighed by age at hi.
func (b *baseRates) accumulate(ctx context.Context, dir Directory, lo, hi, newFrom time.Time) error {
	staff, err := dir.StaffDepartments(ctx)
	if err != nil {
		return err
	}
	from, grace, half := b.from, b.grace, b.half
	// A stay counts for a feature when its state overlaps the period,
	// weighed by the age of the state's start (or of the period's start).
	stay := func(m map[string]float64, key string, s, e time.Time) {
		if !e.After(from) || !s.Before(hi) || s.Before(newFrom) {
			return
		}
		w := 1.0
		if half > 0 {
			w = math.Exp2(-float64(hi.Sub(later(s, from))) / float64(half))
		}
		m[key] += w
	}
	overlap := func(s, e time.Time) float64 {
		if s.Before(lo) {
			s = lo
		}
		if e.After(hi) {
			e = hi
		}
		if !e.After(s) {
			return 0
		}
		return e.Sub(s).Hours()
	}
	rates := b.hours
	depts := map[string]bool{}
	// lagDiff is a difference array of the lag-hours added: a discharge
	// adds one patient-hour to every whole hour of lag [lo, hi) holds.
	lagDiff := make([]float64, len(b.lagHours)+1)
	defer func() {
		run := 0.0
		for h := range b.lagHours {
			run += lagDiff[h]
			b.lagHours[h] += run
		}
	}()
	return dir.EncounterSpans(ctx, lo.Add(-lookBack), hi.Add(24*time.Hour), func(sp *directory.EncounterSpan) error {
		if sp.Admit.IsZero() {
			return nil
		}
		end := sp.Discharge
		if end.IsZero() {
			end = hi
		}
		admits := admits(sp.Class)
		if act := overlap(sp.Admit, end); act > 0 {
			if admits {
				stay(b.stays, FeatEncounter, sp.Admit, end)
			}
			if sp.Class != "" {
				stay(b.stays, "class:"+sp.Class, sp.Admit, end)
			}
			if sp.Service != "" {
				stay(b.stays, "service:"+sp.Service, sp.Admit, end)
			}
			if admits {
				rates[FeatEncounter] += act
			}
			if sp.Class != "" {
				rates["class:"+sp.Class] += act
			}
			loc, prior := enrich.PointOfCare(sp.Location), enrich.PointOfCare(sp.PriorLocation)
			switch {
			case prior == "" || prior == loc:
				rates["unit:"+loc] += act
				stay(b.stays, "unit:"+loc, sp.Admit, end)
			case sp.LocationSince.IsZero():
				rates["unit:"+loc] += act
				rates["unit:"+prior] += act
				stay(b.stays, "unit:"+loc, sp.Admit, end)
				stay(b.stays, "unit:"+prior, sp.Admit, end)
			default:
				rates["unit:"+prior] += overlap(sp.Admit, sp.LocationSince)
				rates["unit:"+loc] += overlap(sp.LocationSince, end)
				stay(b.stays, "unit:"+prior, sp.Admit, sp.LocationSince)
				stay(b.stays, "unit:"+loc, sp.LocationSince, end)
			}
			if sp.Service != "" {
				rates["service:"+sp.Service] += act
			}
		}
		for _, w := range admittedWindows {
			if !admits {
				break
			}
			rates["admitted:"+w.name] += overlap(sp.Admit, sp.Admit.Add(w.d))
			stay(b.stays, "admitted:"+w.name, sp.Admit, sp.Admit.Add(w.d))
		}
		for _, w := range preadmitWindows {
			rates["preadmit:"+w.name] += overlap(sp.Admit.Add(-w.d), sp.Admit)
			stay(b.stays, "preadmit:"+w.name, sp.Admit.Add(-w.d), sp.Admit)
		}
		if d := sp.Discharge; !d.IsZero() {
			if d.Before(hi) && d.Add(maxLag).After(from) && !d.Before(newFrom) {
				b.discharges = append(b.discharges, d)
			}
			l := max(0, int(math.Ceil(lo.Sub(d).Hours())))
			h := min(len(b.lagHours), int(math.Floor(hi.Sub(d).Hours())))
			if h > l {
				lagDiff[l]++
				lagDiff[h]--
			}
			for _, w := range dischargedWindows {
				rates["discharged:"+w.name] += overlap(sp.Discharge, sp.Discharge.Add(w.d))
				stay(b.stays, "discharged:"+w.name, sp.Discharge, sp.Discharge.Add(w.d))
			}
		}
		clear(depts)
		for _, id := range sp.CareTeam {
			if d := staff[strings.ToLower(id)]; d != "" {
				depts[strings.ToLower(d)] = true
			}
		}
		if len(depts) > 0 {
			te := end
			if !sp.Discharge.IsZero() {
				te = sp.Discharge.Add(grace)
			}
			tact := overlap(sp.Admit, te)
			for d := range depts {
				b.teamHours[d] += tact
				stay(b.teamDeptStays, d, sp.Admit, te)
			}
		}
		return nil
	})
}

// normalize turns the patient-time in each state into the share of all
// patient-time of the period.
func (b *baseRates) normalize(ctx context.Context, dir Directory) error {
	n, err := dir.PatientCount(ctx)
	if err != nil {
		return err
	}
	b.patients = max(n, 1)
	total := float64(b.patients) * b.to.Sub(b.from).Hours()
	b.rates = make(map[string]float64, len(b.hours))
	for k, h := range b.hours {
		b.rates[k] = min(1, h/total)
	}
	b.teamDept = make(map[string]float64, len(b.teamHours))
	for k, h := range b.teamHours {
		b.teamDept[k] = min(1, h/total)
	}
	return nil
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
