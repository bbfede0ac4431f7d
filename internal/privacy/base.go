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

// computeBaseRates measures the base rates over [from, to) from the
// directory's stays. grace is the care-team grace (team_dept counts until
// then after a discharge); half the half-life by which stays are weighed
// by age, as the miner weighs accesses (0: not weighed).
func computeBaseRates(ctx context.Context, dir Directory, from, to time.Time, grace, half time.Duration) (*baseRates, error) {
	if to.Sub(from) < 24*time.Hour {
		mid := from.Add(to.Sub(from) / 2)
		from, to = mid.Add(-12*time.Hour), mid.Add(12*time.Hour)
	}
	n, err := dir.PatientCount(ctx)
	if err != nil {
		return nil, err
	}
	staff, err := dir.StaffDepartments(ctx)
	if err != nil {
		return nil, err
	}
	b := &baseRates{from: from, to: to, patients: max(n, 1), rates: map[string]float64{}, teamDept: map[string]float64{},
		stays: map[string]float64{}, teamDeptStays: map[string]float64{}}
	// A stay counts for a feature when its state overlaps the period,
	// weighed by the age of the state's start (or of the period's start).
	stay := func(m map[string]float64, key string, s, e time.Time) {
		if !e.After(from) || !s.Before(to) {
			return
		}
		w := 1.0
		if half > 0 {
			w = math.Exp2(-float64(to.Sub(later(s, from))) / float64(half))
		}
		m[key] += w
	}
	overlap := func(s, e time.Time) float64 {
		if s.Before(from) {
			s = from
		}
		if e.After(to) {
			e = to
		}
		if !e.After(s) {
			return 0
		}
		return e.Sub(s).Hours()
	}
	depts := map[string]bool{}
	err = dir.EncounterSpans(ctx, from.Add(-31*24*time.Hour), to.Add(24*time.Hour), func(sp *directory.EncounterSpan) error {
		if sp.Admit.IsZero() {
			return nil
		}
		end := sp.Discharge
		if end.IsZero() {
			end = to
		}
		act := overlap(sp.Admit, end)
		if act > 0 {
			stay(b.stays, FeatEncounter, sp.Admit, end)
			if sp.Class != "" {
				stay(b.stays, "class:"+sp.Class, sp.Admit, end)
			}
			if sp.Service != "" {
				stay(b.stays, "service:"+sp.Service, sp.Admit, end)
			}
			b.rates[FeatEncounter] += act
			if sp.Class != "" {
				b.rates["class:"+sp.Class] += act
			}
			loc, prior := enrich.PointOfCare(sp.Location), enrich.PointOfCare(sp.PriorLocation)
			switch {
			case prior == "" || prior == loc:
				b.rates["unit:"+loc] += act
				stay(b.stays, "unit:"+loc, sp.Admit, end)
			case sp.LocationSince.IsZero():
				b.rates["unit:"+loc] += act
				b.rates["unit:"+prior] += act
				stay(b.stays, "unit:"+loc, sp.Admit, end)
				stay(b.stays, "unit:"+prior, sp.Admit, end)
			default:
				b.rates["unit:"+prior] += overlap(sp.Admit, sp.LocationSince)
				b.rates["unit:"+loc] += overlap(sp.LocationSince, end)
				stay(b.stays, "unit:"+prior, sp.Admit, sp.LocationSince)
				stay(b.stays, "unit:"+loc, sp.LocationSince, end)
			}
			if sp.Service != "" {
				b.rates["service:"+sp.Service] += act
			}
		}
		for _, w := range admittedWindows {
			b.rates["admitted:"+w.name] += overlap(sp.Admit, sp.Admit.Add(w.d))
			stay(b.stays, "admitted:"+w.name, sp.Admit, sp.Admit.Add(w.d))
		}
		for _, w := range preadmitWindows {
			b.rates["preadmit:"+w.name] += overlap(sp.Admit.Add(-w.d), sp.Admit)
			stay(b.stays, "preadmit:"+w.name, sp.Admit.Add(-w.d), sp.Admit)
		}
		if !sp.Discharge.IsZero() {
			for _, w := range dischargedWindows {
				b.rates["discharged:"+w.name] += overlap(sp.Discharge, sp.Discharge.Add(w.d))
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
				b.teamDept[d] += tact
				stay(b.teamDeptStays, d, sp.Admit, te)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	total := float64(b.patients) * to.Sub(from).Hours()
	for k := range b.rates {
		b.rates[k] = min(1, b.rates[k]/total)
	}
	for k := range b.teamDept {
		b.teamDept[k] = min(1, b.teamDept[k]/total)
	}
	return b, nil
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
