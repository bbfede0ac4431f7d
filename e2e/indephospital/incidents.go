package indephospital

import (
	"fmt"
	"time"
)

// incidents injects the inappropriate accesses. Every user is someone with
// no legitimate access to the target in the whole month; targets are in a
// stay at the time for about half of the incidents (curiosity is often
// triggered by knowing someone is in the hospital), which is when
// department-wide explanations are most tempting.
func (g *gen) incidents() {
	touched := map[[2]int]bool{}
	for _, a := range g.acc {
		touched[[2]int{a.w, a.p}] = true
	}
	staysOf := map[int][]int{}
	for i, s := range g.stays {
		staysOf[s.pat] = append(staysOf[s.pat], i)
	}
	lo, hi := g.c.Start.Add(12*time.Hour), g.end.Add(-6*time.Hour)
	// when: in a stay of p (with probability inStay) or any time, moved
	// into w's shift
	when := func(w, p int, inStay float64) (time.Time, string, string) {
		if l := staysOf[p]; len(l) > 0 && g.chance(inStay) {
			s := &g.stays[l[g.pick(len(l))]]
			t := g.between(s.admit, s.disch)
			if t.After(lo) && t.Before(hi) {
				return t, s.csn, "target in a stay (" + s.class + " " + s.unit + ")"
			}
		}
		t := g.timeFor(w, g.between(lo, hi))
		return t, "", "target not in a stay"
	}
	active := func(w int, t time.Time) bool {
		wk := &g.workers[w]
		return wk.term.IsZero() || t.Before(wk.term)
	}
	inject := func(typ string, w, p int, t time.Time, csn, note string, n int) {
		if !t.Before(g.end) || !t.After(g.c.Start) {
			return
		}
		g.inc = append(g.inc, Incident{ID: len(g.inc) + 1, Type: typ, User: g.workers[w].login, Employee: g.workers[w].emp,
			Patient: g.patients[p].mrn, Time: t, Note: note})
		acts := []string{"Chart Review Activity", "Results Review", "Demographics Viewed", "Problem List Viewed"}
		for i := range n {
			g.acc = append(g.acc, access{t: t.Add(time.Duration(i*(1+g.pick(6))) * time.Minute), w: w, p: p, csn: csn,
				action: acts[g.pick(len(acts))], loginDep: g.workers[w].d.epic, inc: len(g.inc) - 1})
		}
	}
	count := func(typ string) int { return max(1, int(float64(fullIncidents[typ])*g.c.Incidents+0.5)) }
	try := func(typ string, f func() bool) {
		for done, tries := 0, 0; done < count(typ) && tries < 20000; tries++ {
			if f() {
				done++
			}
		}
	}
	nw, np := len(g.workers), len(g.patients)
	ok := func(w, p int) bool { return !touched[[2]int{w, p}] && g.patients[p].worker != w }
	// candidate targets
	var vips, prots, dead, staffPats []int
	household, street := map[int][]int{}, map[string][]int{}
	for i := range g.patients {
		pt := &g.patients[i]
		household[pt.p.household] = append(household[pt.p.household], i)
		street[pt.p.street+pt.p.zip] = append(street[pt.p.street+pt.p.zip], i)
		for l, c := range map[*[]int]bool{&vips: pt.vip && len(staysOf[i]) > 0, &prots: pt.prot, &dead: !pt.died.IsZero(), &staffPats: pt.worker >= 0} {
			if c {
				*l = append(*l, i)
			}
		}
	}
	one := func(l []int) int {
		if len(l) == 0 {
			return 0
		}
		return l[g.pick(len(l))]
	}

	try(Family, func() bool {
		w := g.pick(nw)
		p := one(household[g.workers[w].p.household])
		if g.workers[w].p.household != g.patients[p].p.household || !ok(w, p) {
			return false
		}
		t, csn, note := when(w, p, 0.6)
		if !active(w, t) {
			return false
		}
		inject(Family, w, p, t, csn, note, 1+g.pick(3))
		return true
	})
	try(Coworker, func() bool {
		w, p := g.pick(nw), one(staffPats)
		o := g.patients[p].worker
		if o < 0 || o == w || g.workers[o].p.household == g.workers[w].p.household || !ok(w, p) {
			return false
		}
		t, csn, note := when(w, p, 0.5)
		if !active(w, t) {
			return false
		}
		if g.workers[o].d == g.workers[w].d {
			note += ", same department"
		}
		inject(Coworker, w, p, t, csn, note, 1+g.pick(3))
		return true
	})
	try(VIP, func() bool {
		w, p := g.pick(nw), one(vips)
		if !g.patients[p].vip || !ok(w, p) || g.patients[p].p.household == g.workers[w].p.household {
			return false
		}
		t, csn, note := when(w, p, 0.7)
		if !active(w, t) {
			return false
		}
		inject(VIP, w, p, t, csn, note, 1+g.pick(3))
		return true
	})
	try(Self, func() bool {
		w := g.pick(nw)
		p := g.workers[w].patient
		if p < 0 {
			return false
		}
		t, csn, note := when(w, p, 0.3)
		if !active(w, t) {
			return false
		}
		inject(Self, w, p, t, csn, note, 1+g.pick(2))
		return true
	})
	try(Deceased, func() bool {
		w, p := g.pick(nw), one(dead)
		d := g.patients[p].died
		if d.IsZero() || !ok(w, p) || g.patients[p].p.household == g.workers[w].p.household {
			return false
		}
		t := g.timeFor(w, d.Add(time.Duration(6+g.pick(20*24))*time.Hour))
		if !t.Before(hi) || !active(w, t) {
			return false
		}
		inject(Deceased, w, p, t, "", fmt.Sprintf("%.0f days after death", t.Sub(d).Hours()/24), 1+g.pick(2))
		return true
	})
	try(Terminated, func() bool {
		w := g.pick(nw)
		term := g.workers[w].term
		if term.IsZero() {
			return false
		}
		t := g.between(term.Add(30*time.Hour), hi)
		if !t.Before(hi) {
			return false
		}
		for range 1 + g.pick(3) {
			p := g.pick(np)
			if ok(w, p) {
				inject(Terminated, w, p, t, "", fmt.Sprintf("%.0f days after the last day worked", t.Sub(term).Hours()/24), 1+g.pick(2))
				t = t.Add(time.Duration(3+g.pick(20)) * time.Minute)
			}
		}
		return true
	})
	try(Neighbour, func() bool {
		w := g.pick(nw)
		p := one(street[g.workers[w].p.street+g.workers[w].p.zip])
		wp, pp := &g.workers[w].p, &g.patients[p].p
		if wp.street != pp.street || wp.zip != pp.zip || wp.num == pp.num || wp.household == pp.household ||
			g.patients[p].worker >= 0 || g.patients[p].vip || g.patients[p].prot || !ok(w, p) {
			return false
		}
		t, csn, note := when(w, p, 0.5)
		if !active(w, t) {
			return false
		}
		inject(Neighbour, w, p, t, csn, note, 1+g.pick(2))
		return true
	})
	try(BreakGlass, func() bool {
		w, p := g.pick(nw), one(prots)
		if k := g.workers[w].d.kind; !g.patients[p].prot || !ok(w, p) || k == "edmd" || k == "edrn" ||
			g.patients[p].p.household == g.workers[w].p.household {
			return false
		}
		t, csn, note := when(w, p, 0.5)
		if !active(w, t) {
			return false
		}
		inject(BreakGlass, w, p, t, csn, note, 1)
		a := &g.acc[len(g.acc)-1]
		a.btg, a.reason = true, []string{"Emergency", "Covering for colleague", "Patient care"}[g.pick(3)]
		return true
	})
	bulkKinds := []string{"reg", "billing", "him", "is", "huc", "transport"}
	try(Bulk, func() bool {
		l := g.byKind[bulkKinds[g.pick(len(bulkKinds))]]
		w := l[g.pick(len(l))]
		t := g.timeFor(w, g.between(lo, hi))
		if !active(w, t) || !t.Before(hi) {
			return false
		}
		n := 30 + g.pick(60)
		first := len(g.inc)
		seen := map[int]bool{}
		for len(seen) < n {
			p := g.pick(np)
			if seen[p] || !ok(w, p) {
				continue
			}
			seen[p] = true
			g.acc = append(g.acc, access{t: t.Add(time.Duration(len(seen)*(40+g.pick(60))) * time.Second), w: w, p: p,
				action: "Patient Lookup", loginDep: g.workers[w].d.epic, inc: first})
		}
		g.inc = append(g.inc, Incident{ID: first + 1, Type: Bulk, User: g.workers[w].login, Employee: g.workers[w].emp, Time: t,
			Note: fmt.Sprintf("%d patients in %.0f minutes", n, g.acc[len(g.acc)-1].t.Sub(t).Minutes())})
		for p := range seen {
			g.inc[first].Patients = append(g.inc[first].Patients, g.patients[p].mrn)
		}
		return true
	})
}
