package directory

import (
	"context"
	"strings"
	"testing"
	"time"
)

const roster = "Employee ID,First Name,Last Name,Epic Login,NPI,Department,Job Title,Manager,Hire Date,Term Date,Address,City,State,Zip\n" +
	"E100,Gregory,House,ghouse,D1001,Diagnostics,Attending Physician,E900,2004-11-16,,221B Baker St,Princeton,NJ,08540\n" +
	"E200,Lisa,Cuddy,lcuddy,D3003,Administration,Dean of Medicine,,06/01/2001,,,,,\n" +
	",No,Id,nobody,,,,,,,,,,\n" +
	"E300,Allison,Cameron,acameron,,Diagnostics,Fellow,E100,2005-01-03,13/45/2007,,,,\n" +
	"E400,Robert,\"Cha\"se,rchase,,Diagnostics,Fellow,E100,2005-01-03,,,,,\n" +
	"E500,Chris,Taub,ctaub,,Diagnostics,Fellow,E100,2007-05-01,2012-05-14,,,,\n"

func TestImportWorkforce(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	res, err := s.ImportWorkforce(ctx, strings.NewReader(roster), ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Created != 3 || res.Rows != 6 || res.ErrorTotal != 3 {
		t.Fatalf("result %+v", res)
	}
	wantErrs := map[int]string{4: "employee_id", 5: "termination_date", 6: "quote"}
	for _, e := range res.Errors {
		if w, ok := wantErrs[e.Line]; !ok || !strings.Contains(e.Error, w) {
			t.Errorf("unexpected error %+v", e)
		}
		delete(wantErrs, e.Line)
	}
	if len(wantErrs) > 0 {
		t.Errorf("missing errors for lines %v (got %+v)", wantErrs, res.Errors)
	}
	if res.Columns["ehr_user_id"] != "Epic Login" || res.Columns["provider_id"] != "NPI" || res.Columns["termination_date"] != "Term Date" {
		t.Errorf("columns %v", res.Columns)
	}

	w, err := s.WorkerByEHRUser(ctx, "GHOUSE")
	if err != nil || w.EmployeeID != "E100" || w.FullName != "Gregory House" || w.Department != "Diagnostics" || w.HireDate != "2004-11-16" || w.PostalCode != "08540" {
		t.Fatalf("ghouse: %+v %v", w, err)
	}
	cuddy, _ := s.Worker(ctx, "E200")
	if cuddy.HireDate != "2001-06-01" {
		t.Fatalf("US date read as %q", cuddy.HireDate)
	}
	taub, _ := s.WorkerByEHRUser(ctx, "ctaub")
	if taub.TerminatedAt(time.Date(2012, 5, 14, 23, 0, 0, 0, time.UTC), nil) || !taub.TerminatedAt(time.Date(2012, 5, 15, 0, 0, 0, 0, time.UTC), nil) {
		t.Fatal("termination date boundary wrong")
	}
	if _, err := s.WorkerByEHRUser(ctx, "nobody"); err != ErrNotFound {
		t.Fatalf("nobody: %v", err)
	}

	// Re-import: unchanged; then one change.
	res, err = s.ImportWorkforce(ctx, strings.NewReader(roster), ImportOptions{})
	if err != nil || res.Unchanged != 3 || res.Created != 0 || res.Updated != 0 {
		t.Fatalf("re-import %+v %v", res, err)
	}
	changed := strings.Replace(roster, "Diagnostics,Attending Physician", "Nephrology,Attending Physician", 1)
	res, _ = s.ImportWorkforce(ctx, strings.NewReader(changed), ImportOptions{})
	if res.Updated != 1 || res.Unchanged != 2 {
		t.Fatalf("change import %+v", res)
	}
	ws, _ := s.Workers(ctx, WorkerQuery{Department: "diagnostics"})
	if len(ws) != 1 || ws[0].EmployeeID != "E500" {
		t.Fatalf("diagnostics: %+v", ws)
	}
	ws, _ = s.Workers(ctx, WorkerQuery{Q: "cud"})
	if len(ws) != 1 || ws[0].EmployeeID != "E200" {
		t.Fatalf("q=cud: %+v", ws)
	}
}

func TestImportWorkforceMappingAndDelimiters(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	m, err := ParseWorkforceMapping([]byte(`{"employee_id": "Pers.Nr", "ehr_user_id": ["Kennung", "Login"], "termination_date": "Austritt"}`))
	if err != nil {
		t.Fatal(err)
	}
	tsv := "Pers.Nr\tLogin\tAustritt\n7\tmmuster\t31.12.2023\n"
	res, err := s.ImportWorkforce(ctx, strings.NewReader(tsv), ImportOptions{Mapping: m, Explicit: true})
	if err != nil || res.Created != 1 || res.ErrorTotal != 0 {
		t.Fatalf("tsv %+v %v", res, err)
	}
	w, _ := s.Worker(ctx, "7")
	if w.EHRUserID != "mmuster" || w.TerminationDate != "2023-12-31" {
		t.Fatalf("worker %+v", w)
	}
	// Day-first slash dates, semicolons.
	res, err = s.ImportWorkforce(ctx, strings.NewReader("employee_id;hire_date\n8;02/01/2020\n"), ImportOptions{DayFirst: true})
	if err != nil || res.Created != 1 {
		t.Fatalf("semicolons %+v %v", res, err)
	}
	if w, _ := s.Worker(ctx, "8"); w.HireDate != "2020-01-02" {
		t.Fatalf("day-first date %q", w.HireDate)
	}

	for _, c := range []struct{ csv, mapping, want string }{
		{"Name,Dept\nx,y\n", "", `no column for employee_id`},
		{"Pers.Nr,Login\n1,a\n", `{"employee_id":"Pers.Nr","termination_date":"Austritt"}`, `no column for termination_date: looked for "Austritt"`},
		{"", "", "empty roster"},
	} {
		opt := ImportOptions{}
		if c.mapping != "" {
			opt.Mapping, _ = ParseWorkforceMapping([]byte(c.mapping))
			opt.Explicit = true
		}
		_, err := s.ImportWorkforce(ctx, strings.NewReader(c.csv), opt)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: got %v, want %q", c.csv, err, c.want)
		}
	}
	for _, bad := range []string{`{"Emp No": "employee_id"}`, `{"employee_id": 3}`, `[`, `{}`} {
		if _, err := ParseWorkforceMapping([]byte(bad)); err == nil {
			t.Errorf("mapping %s accepted", bad)
		}
	}
}

func FuzzImportWorkforce(f *testing.F) {
	f.Add(roster)
	f.Add("employee_id;hire_date\n8;02/01/2020\n")
	f.Add("Pers.Nr\tLogin\n7\t\"x\n")
	f.Add("\ufeffEmployee ID,Hire Date\n\"1\"\"\",2024-13-01\n")
	f.Fuzz(func(t *testing.T, csv string) {
		ws, res, err := ParseRoster(strings.NewReader(csv), ImportOptions{MaxRows: 1000})
		if err != nil {
			return
		}
		if len(ws)+res.ErrorTotal != res.Rows {
			t.Fatalf("counts do not add up: %d workers, %+v", len(ws), res)
		}
		for _, w := range ws {
			if w.EmployeeID == "" {
				t.Fatal("worker without employee id")
			}
		}
	})
}
