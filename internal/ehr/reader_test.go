package ehr

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigil-siem/vigil/internal/event"
)

var update = flag.Bool("update", false, "rewrite golden files")

var testNow = time.Date(2024, 3, 13, 0, 0, 0, 0, time.UTC)

// readAll reads every row of data and renders them: one JSON event per
// line, the row's error after it.
func readAll(t testing.TB, data string, m *Mapping, opt Options) (string, []Row) {
	t.Helper()
	if opt.Now == nil {
		opt.Now = func() time.Time { return testNow }
	}
	r, err := NewReader(strings.NewReader(data), m, opt)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	var rows []Row
	for {
		row, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, row)
		row.Event.SortFields()
		b.Write(event.AppendJSON(nil, &row.Event))
		b.WriteByte('\n')
		if row.Err != nil {
			b.WriteString("# " + row.Err.Error() + "\n")
		}
	}
	return b.String(), rows
}

func TestPresetsGolden(t *testing.T) {
	for _, c := range []struct{ preset, file string }{
		{"epic", "epic_access.csv"},
		{"openemr", "openemr_log.tsv"},
		{"touchworks", "touchworks_access.csv"},
	} {
		t.Run(c.preset, func(t *testing.T) {
			m, err := Preset(c.preset)
			if err != nil {
				t.Fatal(err)
			}
			data, err := os.ReadFile(filepath.Join("testdata", c.file))
			if err != nil {
				t.Fatal(err)
			}
			got, _ := readAll(t, string(data), m, Options{Path: c.file})
			golden := filepath.Join("testdata", c.file+".golden")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Errorf("got\n%s\nwant\n%s", got, want)
			}
		})
	}
}

func TestEpicRows(t *testing.T) {
	m, _ := Preset("epic")
	data, _ := os.ReadFile("testdata/epic_access.csv")
	_, rows := readAll(t, string(data), m, Options{})
	if len(rows) != 5 {
		t.Fatalf("%d rows", len(rows))
	}
	lines := []int{2, 3, 4, 5, 8}
	for i, r := range rows {
		if r.Line != lines[i] {
			t.Errorf("row %d on line %d, want %d", i, r.Line, lines[i])
		}
	}
	e := rows[1].Event
	for k, v := range map[string]string{
		"user.name": "LCUDDY", "healthcare.patient.id": "MRN20002", "healthcare.break_glass": "true",
		"healthcare.break_glass_justification": "Emergency care, patient unconscious", "healthcare.break_glass_reason": "ehr_flag",
		"event.action": "patient-demographics-form-accessed", "event.module": "ehr", "event.type": "access",
		"healthcare.workforce.department": "ADMINISTRATION", "host.name": "10.1.2.3",
	} {
		if got := e.Value(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if e.Time != time.Date(2024, 3, 12, 9, 15, 30, 0, time.UTC) {
		t.Errorf("time %v", e.Time)
	}
	if strings.Contains(e.Value("message"), "MRN") {
		t.Errorf("message holds the patient: %q", e.Value("message"))
	}
	if rows[2].Err == nil || !strings.Contains(rows[2].Err.Error(), "line 4") || !strings.Contains(rows[2].Err.Error(), "ACCESS_INSTANT") ||
		rows[2].Event.Value("vigil.original_timestamp") != "2024-03-12 25:00:00" || rows[2].Event.Time != testNow {
		t.Errorf("bad time row: %+v", rows[2])
	}
	if got := rows[3].Event.Value("healthcare.ehr.action"); got != "PROGRESS NOTE EDITED\r\nAFTER SIGNING" || rows[3].Event.Value("event.type") != "change" {
		t.Errorf("multi-line cell %q, type %q", got, rows[3].Event.Value("event.type"))
	}
	if rows[3].Event.Value("healthcare.break_glass_justification") != `Reason with "quotes"` {
		t.Errorf("quotes: %q", rows[3].Event.Value("healthcare.break_glass_justification"))
	}
	if e := rows[4]; e.Err == nil || !strings.Contains(e.Err.Error(), "9 columns, the header has 11") ||
		e.Event.Value("event.category") != "authentication" || e.Event.Value("event.type") != "start" {
		t.Errorf("short row: %v %v", e.Err, e.Event.Fields)
	}
}

func TestResumeAndTail(t *testing.T) {
	m, _ := Preset("touchworks")
	data, _ := os.ReadFile("testdata/touchworks_access.csv")
	_, rows := readAll(t, string(data), m, Options{})
	// Resume after the first row: the rest is the same.
	r, err := NewReader(bytes.NewReader(data), m, Options{StartOffset: rows[0].Offset, StartLine: rows[0].Line + 1, Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range rows[1:] {
		got, err := r.Next()
		if err != nil {
			t.Fatal(err)
		}
		got.Event.SortFields()
		if got.Line != want.Line || got.Offset != want.Offset || string(event.AppendJSON(nil, &got.Event)) != string(event.AppendJSON(nil, &want.Event)) {
			t.Fatalf("resumed row %+v, want %+v", got, want)
		}
	}
	// Resuming from a non-seekable reader works too.
	r, err = NewReader(io.MultiReader(bytes.NewReader(data)), m, Options{StartOffset: rows[1].Offset, StartLine: 4})
	if err != nil {
		t.Fatal(err)
	}
	if row, _ := r.Next(); row.Line != 4 || row.Event.Value("user.name") != "1003" {
		t.Fatalf("resumed without seek: %+v", row)
	}
	// Tail: a last line without line end waits.
	cut := data[:len(data)-10]
	r, _ = NewReader(bytes.NewReader(cut), m, Options{Tail: true})
	n := 0
	var last Row
	for {
		row, err := r.Next()
		if err != nil {
			break
		}
		n++
		last = row
	}
	if n != 2 || last.Offset != rows[1].Offset {
		t.Fatalf("tail read %d rows up to %d, want 2 up to %d", n, last.Offset, rows[1].Offset)
	}
	// Tail: a quoted cell still open waits too.
	epic, _ := Preset("epic")
	open := "ACCESS_INSTANT,USER_ID,PAT_MRN_ID,METRIC_NAME\n2024-03-12 10:00:00,U,M,\"open\n"
	r, _ = NewReader(strings.NewReader(open), epic, Options{Tail: true})
	if row, err := r.Next(); !errors.Is(err, io.EOF) {
		t.Fatalf("open quote in tail mode: %+v %v", row, err)
	}
	// Not in tail mode: the header alone is a file without rows.
	if _, err := NewReader(strings.NewReader("UserID,PatientID"), m, Options{Tail: true}); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("incomplete header in tail mode: %v", err)
	}
}

func TestBadRowsDoNotStop(t *testing.T) {
	m, _ := Preset("epic")
	data := "ACCESS_INSTANT,USER_ID,PAT_MRN_ID,METRIC_NAME\n" +
		"2024-03-12 10:00:00,U1,M1,\"never closed\n" +
		"2024-03-12 10:01:00,U2,M2,ok\n" +
		"2024-03-12 10:02:00,U3,M3," + strings.Repeat("x", 3000) + "\n" +
		"2024-03-12 10:03:00,U4,M4,ok\n"
	_, rows := readAll(t, data, m, Options{MaxRecordBytes: 500})
	var users []string
	var errLines []int
	for _, r := range rows {
		users = append(users, r.Event.Value("user.name"))
		if r.Err != nil {
			errLines = append(errLines, r.Line)
			if !r.Event.Has(event.FieldParseError) {
				t.Errorf("line %d: error not in the event", r.Line)
			}
		}
	}
	if strings.Join(users, ",") != ",U2,,U4" || len(errLines) != 2 || errLines[0] != 2 || errLines[1] != 4 {
		t.Fatalf("users %q, error lines %v", users, errLines)
	}
}

func TestMappingFiles(t *testing.T) {
	yml := `
name: custom
product: MyEHR
delimiter: ";"
timezone: America/Chicago
time_formats: ["02.01.2006 15:04"]
columns:
  "@timestamp": Zeit
  user.name: [Benutzer, Login]
  healthcare.patient.id: Patient
  event.action: Aktion
  event.duration: Dauer
duration_unit: ms
values:
  event.action: {"A": "Akte geöffnet"}
set:
  event.dataset: ehr.custom
keep_unmapped: true
`
	m, err := ParseMapping([]byte(yml), "custom.yaml")
	if err != nil {
		t.Fatal(err)
	}
	out, rows := readAll(t, "Zeit;Login;Patient;Aktion;Dauer;Station\n12.03.2024 08:00;mm;P1;A;1500;Kardiologie\n", m, Options{})
	e := rows[0].Event
	if e.Time != time.Date(2024, 3, 12, 13, 0, 0, 0, time.UTC) || e.Value("user.name") != "mm" || e.Value("event.action") != "akte-geöffnet" ||
		e.Value("event.duration") != "1500000000" || e.Value("healthcare.ehr.station") != "Kardiologie" || e.Value("event.dataset") != "ehr.custom" {
		t.Fatalf("custom mapping: %s", out)
	}
	js := `{"columns": {"@timestamp": "t", "user.name": "u"}, "delimiter": "tab"}`
	if _, err := ParseMapping([]byte(js), "m.json"); err != nil {
		t.Fatalf("JSON mapping: %v", err)
	}
	for _, bad := range []string{
		`columns: {"User Name": "u", "@timestamp": t}`,
		`columns: {user.name: u}`,
		`colums: {}`,
		`columns: {"@timestamp": t, user.name: u}
delimiter: "#"`,
		`columns: {"@timestamp": t, user.name: u}
timezone: Mars/Base`,
	} {
		if _, err := ParseMapping([]byte(bad), "bad"); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
	// A required column missing from the file.
	ep, _ := Preset("epic")
	_, err = NewReader(strings.NewReader("ACCESS_INSTANT,USER\n"), ep, Options{})
	var fe *FileError
	if !errors.As(err, &fe) || !strings.Contains(err.Error(), "healthcare.patient.id") || !strings.Contains(err.Error(), `"PAT_MRN_ID"`) {
		t.Fatalf("missing column: %v", err)
	}
}

func FuzzReader(f *testing.F) {
	for _, n := range []string{"epic_access.csv", "openemr_log.tsv", "touchworks_access.csv"} {
		data, _ := os.ReadFile(filepath.Join("testdata", n))
		f.Add(string(data), n)
	}
	f.Add("ACCESS_INSTANT,USER_ID,PAT_MRN_ID\n\"\n\"\"\n,,,,\n", "x.csv")
	f.Fuzz(func(t *testing.T, data, name string) {
		m, _ := Preset("epic")
		if strings.HasSuffix(name, ".tsv") {
			m, _ = Preset("openemr")
		} else if strings.HasPrefix(data, "UserID") {
			m, _ = Preset("touchworks")
		}
		for _, tail := range []bool{false, true} {
			r, err := NewReader(strings.NewReader(data), m, Options{Path: name, Tail: tail, MaxRecordBytes: 256})
			if err != nil {
				continue
			}
			var last int64
			for range 10000 {
				row, err := r.Next()
				if err != nil {
					break
				}
				if row.Offset <= last || row.Offset > int64(len(data)) {
					t.Fatalf("offset %d after %d (len %d)", row.Offset, last, len(data))
				}
				last = row.Offset
			}
		}
	})
}

// TestEpicBreakGlassAndAccessID: the Epic preset reads break-glass columns
// and the export's access id under the names site-built extracts give them,
// and says which columns it leaves unread.
func TestEpicBreakGlassAndAccessID(t *testing.T) {
	m, err := Preset("epic")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ header, row string }{
		{"access_id,timestamp,user_id,patient_id,department,role,action,break_glass,break_glass_reason,patient_name,terminal",
			"A-1001,2024-03-12 09:00:00,jdoe,MRN1,Emergency Department,RN,Chart Review,Y,Patient unconscious,DOE^JANE,T7"},
		{"ACCESS_LOG_ID,ACCESS_INSTANT,USER_ID,PAT_MRN_ID,DEPARTMENT_NAME,USER_ROLE,METRIC_NAME,BREAK_GLASS_YN,BREAK_GLASS_JUSTIFICATION,PATIENT_NAME,TERMINAL",
			"A-1001,2024-03-12 09:00:00,jdoe,MRN1,Emergency Department,RN,Chart Review,1,Patient unconscious,DOE^JANE,T7"},
		{"Access ID,Access Time,User ID,MRN,Department,Role,Action,Break Glass Flag,Break Glass Reason,Patient Name,Terminal",
			"A-1001,2024-03-12 09:00:00,jdoe,MRN1,Emergency Department,RN,Chart Review,true,Patient unconscious,DOE^JANE,T7"},
	} {
		r, err := NewReader(strings.NewReader(c.header+"\n"+c.row+"\n"), m, Options{Path: "x.csv"})
		if err != nil {
			t.Fatal(err)
		}
		row, err := r.Next()
		if err != nil || row.Err != nil {
			t.Fatalf("%s: %v %v", c.header, err, row.Err)
		}
		e := row.Event
		for f, want := range map[string]string{"event.id": "A-1001", FieldBreakGlass: "true", FieldBreakGlassJustification: "Patient unconscious",
			"healthcare.break_glass_reason": "ehr_flag", "healthcare.workforce.department": "Emergency Department", "healthcare.workforce.role": "RN"} {
			if got := e.Value(f); got != want {
				t.Errorf("%s: %s = %q, want %q", c.header, f, got, want)
			}
		}
		un := r.Unmapped()
		if len(un) != 2 || !strings.EqualFold(strings.ReplaceAll(un[0], "_", " "), "patient name") || !strings.EqualFold(un[1], "terminal") {
			t.Errorf("%s: unmapped %q", c.header, un)
		}
		if n := UnmappedNotice(m, un); !strings.Contains(n, "2 column(s) not read by mapping epic") || !strings.Contains(n, strconv.Quote(un[0])) {
			t.Errorf("notice %q", n)
		}
	}
	// Kept columns are not reported; a file whose every column is read has
	// nothing to say.
	keep := *m
	keep.KeepUnmapped = true
	r, err := NewReader(strings.NewReader("ACCESS_INSTANT,USER_ID,PAT_MRN_ID,TERMINAL\n2024-03-12 09:00:00,jdoe,MRN1,T7\n"), &keep, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Unmapped()) != 0 || UnmappedNotice(m, nil) != "" {
		t.Fatalf("keep_unmapped: %q", r.Unmapped())
	}
	if row, _ := r.Next(); row.Event.Value("healthcare.ehr.terminal") != "T7" {
		t.Fatalf("kept column: %v", row.Event.Fields)
	}
}
