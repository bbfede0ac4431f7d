package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

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
	for _, want := range []string{
		"HIPAA Security Rule evidence",
		"1. Summary", "Failed checks",
		"Information system activity review", "45 CFR 164.308(a)(1)(ii)(D)", "Events collected per day", "Source coverage",
		"Log-in monitoring", "45 CFR 164.308(a)(5)(ii)(C)", "Successful log-ons", "Failed log-ons by account and source",
		"Security incident procedures", "45 CFR 164.308(a)(6)", "Alerts by level", "High and critical alerts",
		"Contingency plan: data backup and disaster recovery", "45 CFR 164.308(a)(7)",
		"Access control", "45 CFR 164.312(a)(2)", "Emergency (break-glass) access by user",
		"Audit controls", "45 CFR 164.312(b)", "EHR accesses recorded", "EHR accesses by action", "PHI exports",
		"Integrity", "45 CFR 164.312(c)", "Latest signed checkpoint",
		"Person or entity authentication", "45 CFR 164.312(d)",
		"Transmission security", "45 CFR 164.312(e)",
		"Documentation: retention, legal holds and disposal", "45 CFR 164.316(b)(2)",
		"Reviewer attestation",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("HIPAA report of the simulated hospital lacks %q", want)
		}
	}
	// The simulated hospital's activity shows: its EHR accesses, log-ons
	// and alerts are counted, not absent.
	for _, absent := range []string{"No EHR access log was collected in the period", "No log-on events in the period", "No events were collected in the period"} {
		if strings.Contains(text, absent) {
			t.Errorf("HIPAA report says %q for a hospital that sent them", absent)
		}
	}
	if os.Getenv("UPDATE_DOCS_IMAGES") != "" {
		for _, p := range []int{1, 2} {
			reporttest.PagePNG(t, data, p, 70, filepath.Join("..", "docs", "images", "hipaa-report-page"+string(rune('0'+p))+".png"))
		}
	}
	t.Logf("HIPAA report: %d bytes, %s", len(data), strings.TrimSpace(out))
}
