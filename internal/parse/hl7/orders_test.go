package hl7

import (
	"strings"
	"testing"
	"time"
)

func TestExtractClinicalErrors(t *testing.T) {
	f := func(name, in, want string) {
		t.Helper()
		m, err := Parse([]byte(in), Limits{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		_, err = ExtractClinical(m, nil)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want error containing %q", name, err, want)
		}
	}
	const msh = "MSH|^~\\&|A|F|B|G|20240701093000||"
	f("adt", msh+"ADT^A01|1|P|2.5\rPID|1||M1\r", `"ADT" is not an order`)
	f("no pid", msh+"ORM^O01|1|P|2.4\rORC|NW|P1\r", "no PID segment")
	f("empty pid", msh+"ORM^O01|1|P|2.4\rPID|1\rORC|NW|P1\r", "PID-3")
	f("no order", msh+"ORM^O01|1|P|2.4\rPID|1||M1\r", "no order segment (ORC, OBR or RX*)")
	f("no schedule", msh+"SIU^S12|1|P|2.5\rPID|1||M1\r", "no schedule segment (SCH)")
	f("bad time", msh+"ORU^R01|1|P|2.5\rPID|1||M1\rOBR|1|||X|||2024-07-01\r", "OBR")
}

// TestClinicalItems: items open on ORC and SCH, and on an OBR after a
// detail; the bounds hold; the message time stands in for a missing one.
func TestClinicalItems(t *testing.T) {
	var b strings.Builder
	b.WriteString("MSH|^~\\&|LIS|F|B|G|20240701093000||ORU^R01|1|P|2.5\rPID|1||M1\r")
	for i := 0; i < MaxClinicalItems+5; i++ {
		b.WriteString("OBR|1|||CBC" + strings.Repeat("|", 20) + "LAB\rOBX|1|ST|X||1" + strings.Repeat("|", 6) + "F" + strings.Repeat("|", 5) + "U1\r")
	}
	m, err := Parse([]byte(b.String()), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	c, err := ExtractClinical(m, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Items) != MaxClinicalItems {
		t.Fatalf("got %d items, want the bound %d", len(c.Items), MaxClinicalItems)
	}
	it := c.Items[3]
	want := time.Date(2024, 7, 1, 9, 30, 0, 0, time.UTC)
	if it.Section != "LAB" || !it.Time.Equal(want) || len(it.People) != 1 || it.People[0].ID != "U1" || it.People[0].Role != RoleObserver {
		t.Errorf("got %+v", it)
	}
	c.Items[0].Time = want.Add(48 * time.Hour)
	if ch := c.ClampFuture(want, time.Minute); len(ch) != 1 || !c.Items[0].Time.Equal(want) {
		t.Errorf("clamp: got %v, %v", ch, c.Items[0].Time)
	}
}
