package report

import (
	_ "embed"
	"fmt"
	"io"
	"math"
	"strings"

	"codeberg.org/go-pdf/fpdf"
)

// DejaVu Sans Condensed covers Latin, Greek, Cyrillic and more, so names
// print as written; the PDF embeds only the glyphs used.
var (
	//go:embed fonts/DejaVuSansCondensed.ttf
	fontRegular []byte
	//go:embed fonts/DejaVuSansCondensed-Bold.ttf
	fontBold []byte
)

const (
	pageMargin  = 15.0
	bodySize    = 9.5
	lineH       = 4.6
	cellSize    = 7.5
	cellLineH   = 3.6
	cellPadding = 1.2
	// maxCellLines caps one table cell; longer text is cut with an ellipsis.
	maxCellLines = 12
)

type pdfWriter struct {
	pdf *fpdf.Fpdf
	d   *Document
	// w is the usable width; bottom the lowest y before a page break.
	w, bottom float64
}

func renderPDF(out io.Writer, d *Document) error {
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.AddUTF8FontFromBytes("dejavu", "", fontRegular)
	pdf.AddUTF8FontFromBytes("dejavu", "B", fontBold)
	pdf.SetMargins(pageMargin, pageMargin+4, pageMargin)
	pdf.SetAutoPageBreak(false, 0)
	gen := d.generated()
	// The same document renders to the same bytes.
	pdf.SetCreationDate(gen)
	pdf.SetModificationDate(gen)
	pdf.SetCatalogSort(true)
	pdf.SetTitle(d.Title, true)
	pdf.SetCreator("Vigil", true)
	pdf.SetProducer("Vigil", true)
	pdf.AliasNbPages("{nb}")
	pw, ph := pdf.GetPageSize()
	p := &pdfWriter{pdf: pdf, d: d, w: pw - 2*pageMargin, bottom: ph - pageMargin - 6}
	genText := gen.In(d.loc()).Format("2006-01-02 15:04 MST")
	pdf.SetHeaderFunc(func() {
		if pdf.PageNo() == 1 {
			return
		}
		pdf.SetFont("dejavu", "", 7)
		pdf.SetTextColor(108, 117, 125)
		pdf.SetXY(pageMargin, 8)
		pdf.CellFormat(p.w/2, 4, d.Title, "", 0, "L", false, 0, "")
		pdf.CellFormat(p.w/2, 4, d.PeriodText(), "", 0, "R", false, 0, "")
		pdf.SetDrawColor(222, 226, 230)
		pdf.Line(pageMargin, 13, pageMargin+p.w, 13)
		pdf.SetXY(pageMargin, pageMargin+4)
	})
	pdf.SetFooterFunc(func() {
		pdf.SetFont("dejavu", "", 7)
		pdf.SetTextColor(108, 117, 125)
		pdf.SetXY(pageMargin, ph-pageMargin+2)
		left := "Generated " + genText
		if d.Notice != "" {
			left = d.Notice + " · " + left
		}
		pdf.CellFormat(p.w*0.8, 4, left, "", 0, "L", false, 0, "")
		pdf.CellFormat(p.w*0.2, 4, fmt.Sprintf("Page %d of {nb}", pdf.PageNo()), "", 0, "R", false, 0, "")
	})
	pdf.AddPage()
	p.cover()
	for i, s := range d.Sections {
		p.section(i+1, s)
	}
	if err := pdf.Error(); err != nil {
		return fmt.Errorf("render PDF: %w", err)
	}
	return pdf.Output(out)
}

func (p *pdfWriter) font(style string, size float64, c rgb) {
	p.pdf.SetFont("dejavu", style, size)
	p.pdf.SetTextColor(int(c.r), int(c.g), int(c.b))
}

// need starts a new page unless h millimetres remain on this one.
func (p *pdfWriter) need(h float64) {
	if p.pdf.GetY()+h > p.bottom {
		p.pdf.AddPage()
	}
}

func (p *pdfWriter) cover() {
	pdf := p.pdf
	p.font("B", 20, inkColor)
	pdf.MultiCell(p.w, 9, p.d.Title, "", "L", false)
	if p.d.Subtitle != "" {
		p.font("", 12, mutedColor)
		pdf.MultiCell(p.w, 6, p.d.Subtitle, "", "L", false)
	}
	pdf.Ln(2)
	facts := []Fact{}
	if pt := p.d.PeriodText(); pt != "" {
		facts = append(facts, Fact{"Period", pt})
	}
	facts = append(facts, Fact{"Generated", p.d.generated().In(p.d.loc()).Format("2006-01-02 15:04:05 MST")})
	facts = append(facts, p.d.Meta...)
	labelW := 0.0
	p.font("B", bodySize, inkColor)
	for _, f := range facts {
		labelW = math.Max(labelW, pdf.GetStringWidth(f.Label)+4)
	}
	labelW = math.Min(labelW, p.w/3)
	for _, f := range facts {
		p.font("B", bodySize, inkColor)
		y := pdf.GetY()
		pdf.CellFormat(labelW, lineH, f.Label, "", 0, "L", false, 0, "")
		p.font("", bodySize, inkColor)
		pdf.SetXY(pageMargin+labelW, y)
		pdf.MultiCell(p.w-labelW, lineH, f.Value, "", "L", false)
	}
	pdf.Ln(3)
	pdf.SetDrawColor(int(inkColor.r), int(inkColor.g), int(inkColor.b))
	pdf.SetLineWidth(0.4)
	pdf.Line(pageMargin, pdf.GetY(), pageMargin+p.w, pdf.GetY())
	pdf.Ln(4)
	if len(p.d.Sections) > 1 {
		p.font("B", 11, inkColor)
		pdf.CellFormat(p.w, 6, "Contents", "", 1, "L", false, 0, "")
		p.font("", bodySize, inkColor)
		for i, s := range p.d.Sections {
			p.need(lineH)
			line := fmt.Sprintf("%d. %s", i+1, s.Title)
			if s.Ref != "" {
				line += " — " + shortRef(s.Ref)
			}
			pdf.MultiCell(p.w, lineH, line, "", "L", false)
		}
		pdf.Ln(4)
	}
}

func (p *pdfWriter) section(n int, s *Section) {
	pdf := p.pdf
	// A heading is never the last thing on a page.
	p.need(30)
	pdf.Bookmark(fmt.Sprintf("%d. %s", n, s.Title), 0, -1)
	p.font("B", 13, inkColor)
	pdf.MultiCell(p.w, 6.5, fmt.Sprintf("%d. %s", n, s.Title), "", "L", false)
	if s.Ref != "" {
		p.font("", 8.5, mutedColor)
		pdf.MultiCell(p.w, 4.2, s.Ref, "", "L", false)
	}
	pdf.Ln(2)
	for _, b := range s.Blocks {
		switch b := b.(type) {
		case *Paragraph:
			p.paragraph(b.Text)
		case *FigureList:
			p.figures(b.Figures)
		case *Finding:
			p.finding(b)
		case *Table:
			p.table(b)
		case *Chart:
			p.chart(b)
		}
		pdf.Ln(2.5)
	}
	pdf.Ln(3)
}

func (p *pdfWriter) paragraph(text string) {
	p.font("", bodySize, inkColor)
	for i, para := range strings.Split(text, "\n\n") {
		if i > 0 {
			p.pdf.Ln(1.5)
		}
		for _, line := range p.pdf.SplitText(strings.TrimSpace(para), p.w) {
			p.need(lineH)
			p.pdf.SetX(pageMargin)
			p.pdf.CellFormat(p.w, lineH, line, "", 1, "L", false, 0, "")
		}
	}
}

func (p *pdfWriter) figures(fs []Figure) {
	pdf := p.pdf
	const perRow = 4
	const gap = 3.0
	boxW := (p.w - gap*(perRow-1)) / perRow
	for i := 0; i < len(fs); i += perRow {
		row := fs[i:min(i+perRow, len(fs))]
		// Height: label lines + value + note lines.
		h := 0.0
		for _, f := range row {
			p.font("", 7, mutedColor)
			hl := float64(len(pdf.SplitText(f.Label, boxW-4))) * 3.4
			hn := 0.0
			if f.Note != "" {
				hn = float64(len(pdf.SplitText(f.Note, boxW-4))) * 3.2
			}
			p.font("B", 13, inkColor)
			hv := float64(len(pdf.SplitText(f.Value, boxW-4))) * 6
			h = math.Max(h, 3+hl+hv+hn+2)
		}
		p.need(h + gap)
		y := pdf.GetY()
		for j, f := range row {
			x := pageMargin + float64(j)*(boxW+gap)
			pdf.SetFillColor(248, 249, 250)
			pdf.SetDrawColor(222, 226, 230)
			pdf.SetLineWidth(0.2)
			pdf.Rect(x, y, boxW, h, "FD")
			if f.Status != StatusNone {
				c := statusColor(f.Status)
				pdf.SetFillColor(int(c.r), int(c.g), int(c.b))
				pdf.Rect(x, y, 1.2, h, "F")
			}
			pdf.SetXY(x+2, y+1.5)
			p.font("", 7, mutedColor)
			pdf.MultiCell(boxW-4, 3.4, f.Label, "", "L", false)
			pdf.SetX(x + 2)
			p.font("B", 13, statusColor(f.Status))
			pdf.MultiCell(boxW-4, 6, f.Value, "", "L", false)
			if f.Note != "" {
				pdf.SetX(x + 2)
				p.font("", 6.5, mutedColor)
				pdf.MultiCell(boxW-4, 3.2, f.Note, "", "L", false)
			}
		}
		pdf.SetXY(pageMargin, y+h+gap)
	}
}

func (p *pdfWriter) finding(f *Finding) {
	pdf := p.pdf
	tag := strings.ToUpper(f.Status.String())
	if tag == "" {
		tag = "NOTE"
	}
	p.font("B", 7, rgb{255, 255, 255})
	tagW := pdf.GetStringWidth(tag) + 4
	p.font("", bodySize, inkColor)
	lines := pdf.SplitText(f.Text, p.w-tagW-3)
	p.need(math.Min(float64(len(lines)), 3) * lineH)
	y := pdf.GetY()
	c := statusColor(f.Status)
	pdf.SetFillColor(int(c.r), int(c.g), int(c.b))
	pdf.Rect(pageMargin, y+0.4, tagW, lineH-0.8, "F")
	p.font("B", 7, rgb{255, 255, 255})
	pdf.SetXY(pageMargin, y)
	pdf.CellFormat(tagW, lineH, tag, "", 0, "C", false, 0, "")
	p.font("", bodySize, inkColor)
	for i, line := range lines {
		if i > 0 {
			p.need(lineH)
		}
		pdf.SetX(pageMargin + tagW + 3)
		pdf.CellFormat(p.w-tagW-3, lineH, line, "", 1, "L", false, 0, "")
	}
}

// columnWidths shares the width among columns by their natural widths.
func (p *pdfWriter) columnWidths(t *Table) []float64 {
	n := len(t.Columns)
	natural := make([]float64, n)
	for i, c := range t.Columns {
		p.font("B", cellSize, inkColor)
		natural[i] = p.pdf.GetStringWidth(c.Name)
	}
	p.font("", cellSize, inkColor)
	for r, row := range t.Rows {
		if r == 200 {
			break
		}
		for i, v := range row {
			natural[i] = math.Max(natural[i], math.Min(p.pdf.GetStringWidth(v), 70))
		}
	}
	weights := make([]float64, n)
	sum := 0.0
	for i, c := range t.Columns {
		weights[i] = natural[i] + 2*cellPadding + 1
		if c.Weight > 0 {
			weights[i] = c.Weight
		}
		sum += weights[i]
	}
	widths := make([]float64, n)
	if sum <= p.w {
		for i := range widths {
			widths[i] = weights[i] * p.w / sum
		}
		return widths
	}
	// Narrow columns keep their width; wide ones share what is left.
	fair := p.w / float64(n)
	left, wide := p.w, 0.0
	for i := range weights {
		if weights[i] <= fair {
			widths[i] = weights[i]
			left -= weights[i]
		} else {
			wide += weights[i]
		}
	}
	for i := range weights {
		if weights[i] > fair {
			widths[i] = weights[i] * left / wide
		}
	}
	return widths
}

func (p *pdfWriter) table(t *Table) {
	pdf := p.pdf
	if t.Title != "" {
		p.need(5 + 10)
		p.font("B", bodySize, inkColor)
		pdf.CellFormat(p.w, 5, t.Title, "", 1, "L", false, 0, "")
	}
	if len(t.Rows) == 0 {
		p.font("", bodySize, mutedColor)
		pdf.CellFormat(p.w, lineH, emptyText(t), "", 1, "L", false, 0, "")
		return
	}
	widths := p.columnWidths(t)
	wrap := func(style string, cells []string) ([][]string, float64) {
		p.font(style, cellSize, inkColor)
		lines := make([][]string, len(cells))
		most := 1
		for i, c := range cells {
			ls := pdf.SplitText(c, widths[i]-2*cellPadding)
			if len(ls) == 0 {
				ls = []string{""}
			}
			if len(ls) > maxCellLines {
				ls = append(ls[:maxCellLines-1:maxCellLines-1], "…")
			}
			lines[i] = ls
			most = max(most, len(ls))
		}
		return lines, float64(most)*cellLineH + 2*cellPadding
	}
	names := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		names[i] = c.Name
	}
	headLines, headH := wrap("B", names)
	header := func() {
		y := pdf.GetY()
		pdf.SetFillColor(233, 236, 239)
		pdf.Rect(pageMargin, y, p.w, headH, "F")
		p.drawRow(t, widths, headLines, y, "B")
		pdf.SetY(y + headH)
	}
	p.need(headH + cellLineH*2)
	header()
	for r, row := range t.Rows {
		lines, h := wrap("", row)
		if pdf.GetY()+h > p.bottom {
			pdf.AddPage()
			header()
		}
		y := pdf.GetY()
		if r%2 == 1 {
			pdf.SetFillColor(248, 249, 250)
			pdf.Rect(pageMargin, y, p.w, h, "F")
		}
		p.drawRow(t, widths, lines, y, "")
		pdf.SetY(y + h)
	}
	pdf.SetDrawColor(222, 226, 230)
	pdf.SetLineWidth(0.2)
	pdf.Line(pageMargin, pdf.GetY(), pageMargin+p.w, pdf.GetY())
	if note := tableNote(t); note != "" {
		pdf.Ln(1)
		p.font("", 7.5, mutedColor)
		pdf.MultiCell(p.w, 3.6, note, "", "L", false)
	}
}

func (p *pdfWriter) drawRow(t *Table, widths []float64, lines [][]string, y float64, style string) {
	pdf := p.pdf
	p.font(style, cellSize, inkColor)
	x := pageMargin
	for i, ls := range lines {
		align := "L"
		if t.Columns[i].Align == AlignRight {
			align = "R"
		}
		for j, l := range ls {
			pdf.SetXY(x+cellPadding, y+cellPadding+float64(j)*cellLineH)
			pdf.CellFormat(widths[i]-2*cellPadding, cellLineH, l, "", 0, align, false, 0, "")
		}
		x += widths[i]
	}
}

func (p *pdfWriter) chart(c *Chart) {
	h := chartHeight(c, p.w)
	p.need(h + 2)
	y := p.pdf.GetY()
	drawChart(&pdfCanvas{pdf: p.pdf, x0: pageMargin, y0: y}, c, p.w, h)
	p.pdf.SetXY(pageMargin, y+h+2)
}

// pdfCanvas draws on the page, offset to the chart's corner.
type pdfCanvas struct {
	pdf    *fpdf.Fpdf
	x0, y0 float64
}

func (c *pdfCanvas) rect(x, y, w, h float64, col rgb) {
	if w <= 0 || h <= 0 {
		return
	}
	c.pdf.SetFillColor(int(col.r), int(col.g), int(col.b))
	c.pdf.Rect(c.x0+x, c.y0+y, w, h, "F")
}

func (c *pdfCanvas) line(x1, y1, x2, y2, width float64, col rgb) {
	c.pdf.SetDrawColor(int(col.r), int(col.g), int(col.b))
	c.pdf.SetLineWidth(width)
	c.pdf.Line(c.x0+x1, c.y0+y1, c.x0+x2, c.y0+y2)
}

func (c *pdfCanvas) polyline(xs, ys []float64, width float64, col rgb) {
	c.pdf.SetDrawColor(int(col.r), int(col.g), int(col.b))
	c.pdf.SetLineWidth(width)
	c.pdf.SetLineJoinStyle("round")
	for i := 1; i < len(xs); i++ {
		c.pdf.Line(c.x0+xs[i-1], c.y0+ys[i-1], c.x0+xs[i], c.y0+ys[i])
	}
}

func (c *pdfCanvas) text(x, y float64, s string, size float64, anchor byte, col rgb) {
	c.pdf.SetFont("dejavu", "", size)
	c.pdf.SetTextColor(int(col.r), int(col.g), int(col.b))
	w := c.pdf.GetStringWidth(s)
	switch anchor {
	case 'c':
		x -= w / 2
	case 'r':
		x -= w
	}
	c.pdf.Text(c.x0+x, c.y0+y, s)
}

func (c *pdfCanvas) textWidth(s string, size float64) float64 {
	c.pdf.SetFont("dejavu", "", size)
	return c.pdf.GetStringWidth(s)
}

// shortRef is a citation without its explanation ("45 CFR 164.312(b)").
func shortRef(ref string) string {
	if i := strings.Index(ref, ":"); i > 0 {
		return ref[:i]
	}
	return ref
}
