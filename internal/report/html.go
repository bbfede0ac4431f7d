package report

import (
	"fmt"
	"html/template"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// htmlChartWidth is the width of charts in SVG user units (millimetres,
// as in the PDF, so both draw the same chart).
const htmlChartWidth = 180.0

var htmlTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"inc":    func(i int) int { return i + 1 },
	"status": func(s Status) string { return s.String() },
	"upper":  strings.ToUpper,
	"paras":  func(s string) []string { return strings.Split(s, "\n\n") },
	"right":  func(a Align) bool { return a == AlignRight },
	"svg":    chartSVG,
	"note":   tableNote,
	"empty":  emptyText,
	"short":  shortRef,
	"kind": func(b Block) string {
		switch b.(type) {
		case *Paragraph:
			return "p"
		case *FigureList:
			return "figures"
		case *Finding:
			return "finding"
		case *Table:
			return "table"
		case *Chart:
			return "chart"
		}
		return ""
	},
}).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>
body{font-family:"DejaVu Sans Condensed","DejaVu Sans",system-ui,sans-serif;color:#212529;margin:0;background:#fff;font-size:14px;line-height:1.45}
main{max-width:1000px;margin:0 auto;padding:24px}
h1{font-size:28px;margin:0 0 4px}
.sub{color:#6c757d;font-size:17px;margin:0 0 12px}
dl.meta{display:grid;grid-template-columns:max-content 1fr;gap:2px 16px;margin:0 0 16px}
dl.meta dt{font-weight:bold}dl.meta dd{margin:0}
hr{border:0;border-top:2px solid #212529;margin:16px 0}
nav ol{padding-left:20px}
section{margin:28px 0}
h2{font-size:20px;margin:0}
.ref{color:#6c757d;font-size:13px;margin:2px 0 10px}
.figures{display:grid;grid-template-columns:repeat(auto-fill,minmax(200px,1fr));gap:10px;margin:10px 0}
.figure{background:#f8f9fa;border:1px solid #dee2e6;border-left-width:4px;padding:6px 10px}
.figure .label{color:#6c757d;font-size:12px}.figure .value{font-size:22px;font-weight:bold}.figure .fnote{color:#6c757d;font-size:11px}
.ok{border-left-color:#198754}.ok .value{color:#198754}
.attention{border-left-color:#c88200}.attention .value{color:#c88200}
.failed{border-left-color:#c82333}.failed .value{color:#c82333}
.info{border-left-color:#0d6efd}.info .value{color:#0d6efd}
.finding{margin:6px 0}.tag{display:inline-block;color:#fff;font-size:11px;font-weight:bold;padding:1px 6px;margin-right:8px;background:#6c757d}
.tag.ok{background:#198754}.tag.attention{background:#c88200}.tag.failed{background:#c82333}.tag.info{background:#0d6efd}
table{border-collapse:collapse;width:100%;font-size:12.5px;margin:6px 0}
caption{text-align:left;font-weight:bold;padding:4px 0}
th{background:#e9ecef;text-align:left}th,td{padding:3px 6px;vertical-align:top}
tr:nth-child(even) td{background:#f8f9fa}td.r,th.r{text-align:right}
.tnote,.empty{color:#6c757d;font-size:12px}
figure{margin:10px 0}svg{width:100%;height:auto;max-width:` + strconv.Itoa(int(htmlChartWidth*4)) + `px}
footer{color:#6c757d;font-size:12px;border-top:1px solid #dee2e6;margin-top:32px;padding-top:8px}
@media print{main{max-width:none}section{break-inside:auto}table{break-inside:auto}tr{break-inside:avoid}}
</style></head><body><main>
<header>
<h1>{{.Title}}</h1>{{if .Subtitle}}<p class="sub">{{.Subtitle}}</p>{{end}}
<dl class="meta">{{range .Facts}}<dt>{{.Label}}</dt><dd>{{.Value}}</dd>{{end}}</dl>
</header><hr>
{{if gt (len .Sections) 1}}<nav><strong>Contents</strong><ol>{{range $i, $s := .Sections}}<li><a href="#s{{inc $i}}">{{$s.Title}}</a>{{if $s.Ref}} — {{short $s.Ref}}{{end}}</li>{{end}}</ol></nav>{{end}}
{{range $i, $s := .Sections}}<section id="s{{inc $i}}" data-section="{{$s.ID}}">
<h2>{{inc $i}}. {{$s.Title}}</h2>{{if $s.Ref}}<p class="ref">{{$s.Ref}}</p>{{end}}
{{range $b := $s.Blocks}}{{$k := kind $b}}
{{- if eq $k "p"}}{{range paras $b.Text}}<p>{{.}}</p>{{end}}
{{- else if eq $k "figures"}}<div class="figures">{{range $b.Figures}}<div class="figure {{status .Status}}"><div class="label">{{.Label}}</div><div class="value">{{.Value}}</div>{{if .Note}}<div class="fnote">{{.Note}}</div>{{end}}</div>{{end}}</div>
{{- else if eq $k "finding"}}<p class="finding"><span class="tag {{status $b.Status}}">{{with status $b.Status}}{{upper .}}{{else}}NOTE{{end}}</span>{{$b.Text}}</p>
{{- else if eq $k "table"}}{{if $b.Rows}}<table data-table="{{$b.ID}}">{{if $b.Title}}<caption>{{$b.Title}}</caption>{{end}}
<thead><tr>{{range $b.Columns}}<th{{if right .Align}} class="r"{{end}}>{{.Name}}</th>{{end}}</tr></thead>
<tbody>{{range $r := $b.Rows}}<tr>{{range $j, $c := $r}}<td{{if right (index $b.Columns $j).Align}} class="r"{{end}}>{{$c}}</td>{{end}}</tr>
{{end}}</tbody></table>{{with note $b}}<p class="tnote">{{.}}</p>{{end}}{{else}}{{if $b.Title}}<p><strong>{{$b.Title}}</strong></p>{{end}}<p class="empty">{{empty $b}}</p>{{end}}
{{- else if eq $k "chart"}}<figure>{{svg $b}}</figure>
{{- end}}{{end}}
</section>
{{end}}
<footer>{{if .Notice}}{{.Notice}} · {{end}}Generated {{.GeneratedText}} by Vigil.</footer>
</main></body></html>
`))

type htmlData struct {
	*Document
	Facts         []Fact
	GeneratedText string
}

func renderHTML(w io.Writer, d *Document) error {
	gen := d.generated().In(d.loc()).Format("2006-01-02 15:04:05 MST")
	facts := []Fact{}
	if pt := d.PeriodText(); pt != "" {
		facts = append(facts, Fact{"Period", pt})
	}
	facts = append(facts, Fact{"Generated", gen})
	facts = append(facts, d.Meta...)
	if err := htmlTemplate.Execute(w, htmlData{Document: d, Facts: facts, GeneratedText: gen}); err != nil {
		return fmt.Errorf("render HTML: %w", err)
	}
	return nil
}

// chartSVG draws a chart as an inline SVG element.
func chartSVG(c *Chart) template.HTML {
	h := chartHeight(c, htmlChartWidth)
	var cv svgCanvas
	drawChart(&cv, c, htmlChartWidth, h)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %s %s" role="img" aria-label="%s">`,
		num(htmlChartWidth), num(h), template.HTMLEscapeString(c.Title))
	b.WriteString(cv.b.String())
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// svgCanvas writes SVG elements; sizes in points are converted to the
// millimetre user units.
type svgCanvas struct{ b strings.Builder }

const ptToMM = 0.3528

func num(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }

func (c *svgCanvas) rect(x, y, w, h float64, col rgb) {
	if w <= 0 || h <= 0 {
		return
	}
	fmt.Fprintf(&c.b, `<rect x="%s" y="%s" width="%s" height="%s" fill="%s"/>`, num(x), num(y), num(w), num(h), col.hex())
}

func (c *svgCanvas) line(x1, y1, x2, y2, width float64, col rgb) {
	fmt.Fprintf(&c.b, `<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="%s"/>`, num(x1), num(y1), num(x2), num(y2), col.hex(), num(width))
}

func (c *svgCanvas) polyline(xs, ys []float64, width float64, col rgb) {
	c.b.WriteString(`<polyline fill="none" stroke-linejoin="round" points="`)
	for i := range xs {
		if i > 0 {
			c.b.WriteByte(' ')
		}
		c.b.WriteString(num(xs[i]) + "," + num(ys[i]))
	}
	fmt.Fprintf(&c.b, `" stroke="%s" stroke-width="%s"/>`, col.hex(), num(width))
}

func (c *svgCanvas) text(x, y float64, s string, size float64, anchor byte, col rgb) {
	a := "start"
	switch anchor {
	case 'c':
		a = "middle"
	case 'r':
		a = "end"
	}
	fmt.Fprintf(&c.b, `<text x="%s" y="%s" font-size="%s" text-anchor="%s" fill="%s">%s</text>`,
		num(x), num(y), num(size*ptToMM), a, col.hex(), template.HTMLEscapeString(s))
}

// textWidth estimates: DejaVu Sans Condensed averages about half an em.
func (c *svgCanvas) textWidth(s string, size float64) float64 {
	return float64(utf8.RuneCountInString(s)) * size * ptToMM * 0.52
}
