package report

import (
	"math"
	"strconv"
	"strings"
)

// canvas is what a chart is drawn on: the PDF page or an SVG element.
// Coordinates are millimetres from the top-left corner of the chart.
type canvas interface {
	rect(x, y, w, h float64, c rgb)
	line(x1, y1, x2, y2, width float64, c rgb)
	polyline(xs, ys []float64, width float64, c rgb)
	// text draws s with its baseline at y; anchor is 'l', 'c' or 'r'.
	text(x, y float64, s string, size float64, anchor byte, c rgb)
	textWidth(s string, size float64) float64
}

type rgb struct{ r, g, b uint8 }

func (c rgb) hex() string {
	const digits = "0123456789abcdef"
	return string([]byte{'#', digits[c.r>>4], digits[c.r&15], digits[c.g>>4], digits[c.g&15], digits[c.b>>4], digits[c.b&15]})
}

// palette is Okabe and Ito's colour-blind-safe set.
var palette = []rgb{
	{0, 114, 178}, {230, 159, 0}, {0, 158, 115}, {204, 121, 167},
	{86, 180, 233}, {213, 94, 0}, {240, 228, 66}, {0, 0, 0},
	{120, 120, 120}, {0, 80, 120}, {160, 110, 0}, {0, 110, 80},
}

var (
	inkColor   = rgb{33, 37, 41}
	mutedColor = rgb{108, 117, 125}
	gridColor  = rgb{222, 226, 230}
	okColor    = rgb{25, 135, 84}
	warnColor  = rgb{200, 130, 0}
	failColor  = rgb{200, 35, 51}
	infoColor  = rgb{13, 110, 253}
)

func statusColor(s Status) rgb {
	switch s {
	case StatusOK:
		return okColor
	case StatusWarn:
		return warnColor
	case StatusFail:
		return failColor
	case StatusInfo:
		return infoColor
	}
	return inkColor
}

// chartHeight is the height of a drawn chart in millimetres for a width.
func chartHeight(c *Chart, width float64) float64 {
	if c.Kind == HBars {
		return 10 + float64(len(c.Labels))*6 + 4
	}
	return math.Min(62, width*0.36)
}

const (
	chartTitleSize = 9
	chartTextSize  = 7
)

// drawChart draws c in a box of width w and height h.
func drawChart(cv canvas, c *Chart, w, h float64) {
	cv.text(0, 4, c.Title, chartTitleSize, 'l', inkColor)
	top := 8.0
	legendH := 0.0
	if len(c.Series) > 1 && c.Kind != HBars {
		legendH = 5
		x := 0.0
		for i, s := range c.Series {
			cv.rect(x, top+0.5, 3, 3, palette[i%len(palette)])
			cv.text(x+4, top+3.2, s.Name, chartTextSize, 'l', inkColor)
			x += 4 + cv.textWidth(s.Name, chartTextSize) + 5
		}
	}
	top += legendH
	if c.Unit != "" && c.Kind != HBars {
		top += 4
		cv.text(0, top-1.5, c.Unit, chartTextSize, 'l', mutedColor)
	}
	top += 1
	if len(c.Labels) == 0 {
		cv.text(0, top+6, "No data in the period.", chartTextSize, 'l', mutedColor)
		return
	}
	if c.Kind == HBars {
		drawHBars(cv, c, w, top)
		return
	}
	maxV := 0.0
	for i := range c.Labels {
		sum := 0.0
		for _, s := range c.Series {
			v := finite(s.Values[i])
			if c.Kind == StackedBars {
				sum += v
			} else {
				maxV = math.Max(maxV, v)
			}
		}
		maxV = math.Max(maxV, sum)
	}
	ticks := niceTicks(maxV)
	top2 := ticks[len(ticks)-1]
	// Value axis labels on the left.
	labelW := 0.0
	for _, t := range ticks {
		labelW = math.Max(labelW, cv.textWidth(tickText(t), chartTextSize))
	}
	left := labelW + 2
	bottom := h - 8
	plotH := bottom - top
	plotW := w - left
	y := func(v float64) float64 { return bottom - plotH*v/top2 }
	for _, t := range ticks {
		cv.line(left, y(t), w, y(t), 0.1, gridColor)
		cv.text(left-1.5, y(t)+1, tickText(t), chartTextSize, 'r', mutedColor)
	}
	n := len(c.Labels)
	slot := plotW / float64(n)
	// Show at most as many category labels as fit.
	every := 1
	widest := 0.0
	for _, l := range c.Labels {
		widest = math.Max(widest, cv.textWidth(l, chartTextSize))
	}
	for float64(every)*slot < widest+2 && every < n {
		every++
	}
	for i, l := range c.Labels {
		if i%every != 0 {
			continue
		}
		cv.text(left+slot*(float64(i)+0.5), bottom+4, l, chartTextSize, 'c', mutedColor)
	}
	switch c.Kind {
	case Lines:
		for si, s := range c.Series {
			xs := make([]float64, n)
			ys := make([]float64, n)
			for i := range n {
				xs[i] = left + slot*(float64(i)+0.5)
				ys[i] = y(finite(s.Values[i]))
			}
			col := palette[si%len(palette)]
			if n == 1 {
				cv.rect(xs[0]-0.8, ys[0]-0.8, 1.6, 1.6, col)
				continue
			}
			cv.polyline(xs, ys, 0.5, col)
		}
	case StackedBars:
		bw := slot * 0.7
		for i := range n {
			base := 0.0
			for si, s := range c.Series {
				v := finite(s.Values[i])
				if v <= 0 {
					continue
				}
				cv.rect(left+slot*float64(i)+(slot-bw)/2, y(base+v), bw, y(base)-y(base+v), palette[si%len(palette)])
				base += v
			}
		}
	default: // Bars
		group := slot * 0.8
		bw := group / float64(len(c.Series))
		for i := range n {
			for si, s := range c.Series {
				v := finite(s.Values[i])
				if v <= 0 {
					continue
				}
				x := left + slot*float64(i) + (slot-group)/2 + bw*float64(si)
				cv.rect(x, y(v), bw*0.92, bottom-y(v), palette[si%len(palette)])
			}
		}
	}
	cv.line(left, bottom, w, bottom, 0.2, mutedColor)
}

func drawHBars(cv canvas, c *Chart, w, top float64) {
	vals := c.Series[0].Values
	maxV := 0.0
	for _, v := range vals {
		maxV = math.Max(maxV, finite(v))
	}
	labelW := 0.0
	for _, l := range c.Labels {
		labelW = math.Max(labelW, cv.textWidth(l, chartTextSize))
	}
	labelW = math.Min(labelW, w*0.4)
	left := labelW + 2
	valueW := cv.textWidth(tickText(maxV), chartTextSize) + 2
	plotW := w - left - valueW
	for i, l := range c.Labels {
		y := top + 2 + float64(i)*6
		cv.text(left-1.5, y+3.5, clip(cv, l, labelW, chartTextSize), chartTextSize, 'r', inkColor)
		v := finite(vals[i])
		bw := 0.0
		if maxV > 0 {
			bw = plotW * v / maxV
		}
		if bw > 0 {
			cv.rect(left, y, bw, 4.5, palette[0])
		}
		cv.text(left+bw+1, y+3.5, tickText(v), chartTextSize, 'l', mutedColor)
	}
}

// clip shortens s with an ellipsis to fit width.
func clip(cv canvas, s string, width, size float64) string {
	if cv.textWidth(s, size) <= width {
		return s
	}
	r := []rune(s)
	for len(r) > 1 && cv.textWidth(string(r)+"…", size) > width {
		r = r[:len(r)-1]
	}
	return string(r) + "…"
}

func finite(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
		return 0
	}
	return v
}

// niceTicks returns 0 and round values up to at least maxV (about five).
func niceTicks(maxV float64) []float64 {
	if maxV <= 0 {
		return []float64{0, 1}
	}
	raw := maxV / 5
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	if step < 1 && maxV >= 1 {
		step = 1
	}
	var ticks []float64
	for t := 0.0; ; t += step {
		ticks = append(ticks, t)
		if t >= maxV {
			break
		}
	}
	return ticks
}

// tickText prints an axis value compactly (1.5k, 2M).
func tickText(v float64) string {
	switch {
	case v >= 1e6:
		return trimZero(strconv.FormatFloat(v/1e6, 'f', 1, 64)) + "M"
	case v >= 1e4:
		return trimZero(strconv.FormatFloat(v/1e3, 'f', 1, 64)) + "k"
	case v == math.Trunc(v):
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return trimZero(strconv.FormatFloat(v, 'f', 2, 64))
}

func trimZero(s string) string {
	if strings.Contains(s, ".") {
		s = strings.TrimRight(s, "0")
		s = strings.TrimSuffix(s, ".")
	}
	return s
}
