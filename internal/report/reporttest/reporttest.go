// Package reporttest reads rendered reports back in tests: the text of a
// PDF as Debian's pdftotext (poppler-utils) extracts it, and a page as a
// PNG image (pdftoppm).
package reporttest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// PDFText returns the text of pdf, its whitespace collapsed to single
// spaces so phrases match across line breaks. Without pdftotext the test
// is skipped with the reason.
func PDFText(t testing.TB, pdf []byte) string {
	t.Helper()
	bin, err := exec.LookPath("pdftotext")
	if err != nil {
		t.Skip("pdftotext not found (Debian package poppler-utils; .ci/run installs it): cannot read the PDF's text")
	}
	in := filepath.Join(t.TempDir(), "report.pdf")
	if err := os.WriteFile(in, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "-enc", "UTF-8", in, "-").CombinedOutput()
	if err != nil {
		t.Fatalf("pdftotext: %v: %s", err, out)
	}
	return strings.Join(strings.Fields(string(out)), " ")
}

// Sections splits text (PDFText of a rendered document) at the headings
// of its numbered sections ("N. Title"), found in order after the table
// of contents that lists them all first: out[i] is the text of section
// i, from its heading to the next. A heading not found fails the test,
// so a check on out[i] reads what that section says, not another's.
func Sections(t testing.TB, text string, titles []string) []string {
	t.Helper()
	heading := func(i int) string { return strconv.Itoa(i+1) + ". " + titles[i] }
	cur := 0
	for i := range titles {
		j := strings.Index(text[cur:], heading(i))
		if j < 0 {
			t.Fatalf("the contents lack %q", heading(i))
		}
		cur += j + len(heading(i))
	}
	starts := make([]int, len(titles)+1)
	for i := range titles {
		j := strings.Index(text[cur:], heading(i))
		if j < 0 {
			t.Fatalf("no section %q after the contents", heading(i))
		}
		starts[i] = cur + j
		cur = starts[i] + len(heading(i))
	}
	starts[len(titles)] = len(text)
	out := make([]string, len(titles))
	for i := range titles {
		out[i] = text[starts[i]:starts[i+1]]
	}
	return out
}

// PagePNG renders page (1-based) of pdf at dpi to a PNG file at out.
// Without pdftoppm the test is skipped with the reason.
func PagePNG(t testing.TB, pdf []byte, page, dpi int, out string) {
	t.Helper()
	bin, err := exec.LookPath("pdftoppm")
	if err != nil {
		t.Skip("pdftoppm not found (Debian package poppler-utils; .ci/run installs it)")
	}
	dir := t.TempDir()
	in := filepath.Join(dir, "report.pdf")
	if err := os.WriteFile(in, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	p := strings.TrimSuffix(out, ".png")
	args := []string{"-png", "-singlefile", "-r", itoa(dpi), "-f", itoa(page), "-l", itoa(page), in, p}
	if msg, err := exec.Command(bin, args...).CombinedOutput(); err != nil {
		t.Fatalf("pdftoppm: %v: %s", err, msg)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
