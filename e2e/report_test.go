package e2e

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/vigil-siem/vigil/internal/client"
	"github.com/vigil-siem/vigil/internal/compliance"
	"github.com/vigil-siem/vigil/internal/report"
	"github.com/vigil-siem/vigil/internal/report/reporttest"
)

// checkHIPAAReport renders the HIPAA evidence report of a running server
// (after a simulated hospital ran on it) to PDF with vigil report, and
// reads every section back with pdftotext. With UPDATE_DOCS_IMAGES=1 it
// also renders its first pages to docs/images (pdftoppm).
func checkHIPAAReport(t *testing.T, in *instance) {
	t.Helper()
	pdf := filepath.Join(t.TempDir(), "hipaa.pdf")
	out, code := runVigil(t, "report", "hipaa", "--since", "4d", "--format", "pdf", "-o", pdf, "--server", in.httpURL, "--token", in.admin)
	if code != 0 {
		t.Fatalf("vigil report hipaa: exit %d\n%s", code, out)
	}
	data, err := os.ReadFile(pdf)
	if err != nil {
		t.Fatal(err)
	}
	text := reporttest.PDFText(t, data)
	for _, want := range []string{"HIPAA Security Rule evidence", "Contents"} {
		if !strings.Contains(text, want) {
			t.Errorf("HIPAA report of the simulated hospital lacks %q", want)
		}
	}
	// The kept report's CSV holds every figure; the PDF is read section
	// by section.
	var list struct {
		Reports []struct {
			ID int64 `json:"id"`
		} `json:"reports"`
	}
	if err := in.adminCall("GET", "/api/v1/reports", "", &list); err != nil || len(list.Reports) == 0 {
		t.Fatalf("kept reports: %v %v", list.Reports, err)
	}
	id := slices.MaxFunc(list.Reports, func(a, b struct {
		ID int64 `json:"id"`
	}) int {
		return int(a.ID - b.ID)
	}).ID
	figs, titles := reportFigures(t, in, id)
	secs := reporttest.Sections(t, text, titles)
	for i, id := range compliance.HIPAASections {
		for _, want := range sectionWants[id] {
			if !strings.Contains(secs[i], want) {
				t.Errorf("HIPAA report section %d (%s) lacks %q", i+1, titles[i], want)
			}
		}
		// Every figure the CSV gives for a section is printed in that
		// section of the PDF.
		for label, v := range figs[id] {
			if strings.Trim(v, "0123456789,.%") == "" && !strings.Contains(secs[i], v) {
				t.Errorf("HIPAA report section %d (%s): figure %q = %s is not in the PDF's section", i+1, titles[i], label, v)
			}
		}
	}
	// The figures are what the server holds: the same counts by LogsQL
	// over the period, and the alerts.
	for _, c := range []struct{ section, label, query string }{
		{"164.308(a)(1)(ii)(D)", "Events collected", "*"},
		{"164.308(a)(5)(ii)(C)", "Failed log-ons", "event.category:authentication event.outcome:failure"},
		{"164.308(a)(5)(ii)(C)", "Successful log-ons", "event.category:authentication event.outcome:success"},
		{"164.312(a)(2)", "(ii) Break-glass accesses", "healthcare.break_glass:true"},
		{"164.312(b)", "EHR accesses recorded", "event.module:ehr"},
	} {
		want := in.count(t, c.query, "-4d")
		if want == 0 {
			t.Errorf("the simulated hospital sent no %s (%s)", c.label, c.query)
		}
		if got := figs[c.section][c.label]; got != report.Count(want) {
			t.Errorf("HIPAA report %s %q = %q, the server counts %d (%s)", c.section, c.label, got, want, c.query)
		}
	}
	if got, want := figs["164.308(a)(6)"]["Alerts raised"], report.Count(len(in.alerts(url.Values{"since": {"-4d"}, "limit": {"10000"}}))); got != want {
		t.Errorf("HIPAA report: %s alerts raised, the server lists %s", got, want)
	}
	if os.Getenv("UPDATE_DOCS_IMAGES") != "" {
		for _, p := range []int{1, 2} {
			reporttest.PagePNG(t, data, p, 70, filepath.Join("..", "docs", "images", "hipaa-report-page"+string(rune('0'+p))+".png"))
		}
	}
	t.Logf("HIPAA report: %d bytes, %s", len(data), strings.TrimSpace(out))
}

// sectionWants: what each section of the simulated hospital's report
// must say beside its figures.
var sectionWants = map[string][]string{
	"summary":              {"Failed checks", "Points needing attention"},
	"164.308(a)(1)(ii)(D)": {"45 CFR 164.308(a)(1)(ii)(D)", "Events collected per day", "Source coverage"},
	"164.308(a)(5)(ii)(C)": {"45 CFR 164.308(a)(5)(ii)(C)", "Successful log-ons", "Failed log-ons by account and source"},
	"164.308(a)(6)":        {"45 CFR 164.308(a)(6)", "Alerts by level", "High and critical alerts"},
	"164.308(a)(7)":        {"45 CFR 164.308(a)(7)", "Backups completed"},
	"164.312(a)(2)":        {"45 CFR 164.312(a)(2)", "Emergency (break-glass) access by user", "(iii) Automatic logoff. Console sessions end after", "(iv) Encryption and decryption"},
	"164.312(b)":           {"45 CFR 164.312(b)", "EHR accesses by action", "PHI exports"},
	"164.312(c)":           {"45 CFR 164.312(c)", "Latest signed checkpoint", "Ed25519"},
	"164.312(d)":           {"45 CFR 164.312(d)"},
	"164.312(e)":           {"45 CFR 164.312(e)"},
	"164.316(b)(2)":        {"45 CFR 164.316(b)(2)"},
	"attestation":          {"Reviewer name"},
}

// reportFigures reads the kept report id as CSV: the value of every
// figure by section id and label, and the section titles in order.
func reportFigures(t *testing.T, in *instance, id int64) (map[string]map[string]string, []string) {
	t.Helper()
	req, _ := http.NewRequest("GET", fmt.Sprintf("%s/api/v1/reports/%d?format=csv", in.httpURL, id), nil)
	req.Header.Set("Authorization", "Bearer "+in.admin)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	rows, err := csv.NewReader(resp.Body).ReadAll()
	if err != nil || resp.StatusCode != 200 || len(rows) < 2 {
		t.Fatalf("report %d as CSV: %d %v", id, resp.StatusCode, err)
	}
	figs := map[string]map[string]string{}
	var titles []string
	for _, r := range rows[1:] { // section,section_title,kind,name,row,column,value
		if len(r) != 7 {
			t.Fatalf("CSV row %v", r)
		}
		if r[0] == "" { // the document's own rows (title, period)
			continue
		}
		if !slices.Contains(titles, r[1]) {
			titles = append(titles, r[1])
		}
		if r[2] == "figure" && r[5] == "value" {
			if figs[r[0]] == nil {
				figs[r[0]] = map[string]string{}
			}
			figs[r[0]][r[3]] = r[6]
		}
	}
	if len(titles) != len(compliance.HIPAASections) {
		t.Fatalf("report %d has sections %q", id, titles)
	}
	return figs, titles
}

// count runs q | stats count() over [start, now] on the server.
func (in *instance) count(t *testing.T, q, start string) int {
	t.Helper()
	n := -1
	err := in.client().Search(context.Background(), client.SearchParams{Query: q + " | stats count() n", Start: start},
		func(line []byte) error {
			var m map[string]string
			if err := json.Unmarshal(line, &m); err != nil {
				return err
			}
			v, err := strconv.Atoi(m["n"])
			n = v
			return err
		})
	if err != nil || n < 0 {
		t.Fatalf("count %q: %d %v", q, n, err)
	}
	return n
}
