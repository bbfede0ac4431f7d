package privacy

import (
	"fmt"
	"slices"
	"testing"
)

func TestGroupCache(t *testing.T) {
	c := &groupCache{by: []string{"job", "department", "role"}}
	f := func(dept, role string, match, learn []string) {
		t.Helper()
		g := c.get(dept, role)
		if !slices.Equal(g.match, match) || !slices.Equal(g.learn, learn) {
			t.Fatalf("%q %q: match %q learn %q, want %q %q", dept, role, g.match, g.learn, match, learn)
		}
		if c.get(dept, role) != g {
			t.Fatalf("%q %q built twice", dept, role)
		}
		if cap(g.match) != len(g.match) || cap(g.learn) != len(g.learn) {
			t.Fatal("shared slices must not be appended to in place")
		}
	}
	f(" Pharmacy ", "Pharmacist", []string{"department:pharmacy", "job:pharmacy|pharmacist", "role:pharmacist"},
		[]string{"job:pharmacy|pharmacist", "department:pharmacy", "role:pharmacist"})
	f("Radiology", "", []string{"department:radiology"}, []string{"department:radiology"})
	f("", "RN", []string{"role:rn"}, []string{"role:rn"})
	f("", "", nil, nil)
	if g := c.get("Pharmacy", "Pharmacist"); g.match[0] != GroupKey("department", "Pharmacy") || g.job != JobKey("Pharmacy", "Pharmacist") {
		t.Fatalf("keys differ from GroupKey/JobKey: %+v", g)
	}
	// Bounded: a flood of names empties it instead of growing it.
	for i := range maxGroupNames + 10 {
		c.get(fmt.Sprint("dept", i), "x")
	}
	if len(c.m) > maxGroupNames {
		t.Fatalf("%d entries", len(c.m))
	}
}
