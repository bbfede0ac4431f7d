package browsertest

import (
	"strings"

	"github.com/chromedp/chromedp"
)

// a11yScript checks the page in view for what the console promises every
// page: every control has an accessible name, every image a text
// alternative, and text contrasts with its background as WCAG 2.1 AA asks
// (4.5:1, or 3:1 for large text). It returns the problems found.
const a11yScript = `(() => {
  const problems = [];
  const visible = (el) => {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) return false;
    for (let e = el; e; e = e.parentElement) {
      const s = getComputedStyle(e);
      if (s.display === "none" || s.visibility === "hidden" || s.opacity === "0") return false;
    }
    return true;
  };
  const describe = (el) => {
    let d = el.tagName.toLowerCase();
    if (el.id) d += "#" + el.id;
    if (el.className && typeof el.className === "string") d += "." + el.className.trim().split(/\s+/).join(".");
    const t = (el.textContent || "").trim().slice(0, 40);
    return t ? d + " (" + JSON.stringify(t) + ")" : d;
  };
  const name = (el) => {
    if (el.getAttribute("aria-label")) return el.getAttribute("aria-label");
    const lb = el.getAttribute("aria-labelledby");
    if (lb) return lb.split(/\s+/).map((id) => document.getElementById(id)?.textContent || "").join(" ").trim();
    if (el.labels && el.labels.length) return [...el.labels].map((l) => l.textContent).join(" ").trim();
    if (el.tagName === "BUTTON" || el.tagName === "A" || el.tagName === "SUMMARY") return (el.textContent || "").trim();
    return el.getAttribute("title") || "";
  };
  for (const el of document.querySelectorAll("input:not([type=hidden]), select, textarea, button, a[href], summary, [role=button], [role=tab]")) {
    if (!visible(el)) continue;
    if (!name(el)) problems.push("no accessible name: " + describe(el));
  }
  for (const img of document.querySelectorAll("img")) if (visible(img) && !img.hasAttribute("alt")) problems.push("image without alt: " + describe(img));
  for (const el of document.querySelectorAll("[role=img]")) if (visible(el) && !name(el)) problems.push("role=img without a label: " + describe(el));

  // Contrast.
  const parse = (c) => {
    let m = /^rgba?\(([^)]+)\)$/.exec(c);
    if (m) {
      const p = m[1].split(/[\s,\/]+/).filter(Boolean).map(Number);
      return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
    }
    m = /^color\(srgb ([^)]+)\)$/.exec(c);
    if (m) {
      const p = m[1].split(/[\s\/]+/).filter(Boolean).map(Number);
      return [p[0] * 255, p[1] * 255, p[2] * 255, p.length > 3 ? p[3] : 1];
    }
    return null;
  };
  const blend = (top, bottom) => {
    const a = top[3];
    return [top[0] * a + bottom[0] * (1 - a), top[1] * a + bottom[1] * (1 - a), top[2] * a + bottom[2] * (1 - a), 1];
  };
  const background = (el) => {
    const layers = [];
    for (let e = el; e; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor);
      if (c && c[3] > 0) {
        layers.push(c);
        if (c[3] >= 1) break;
      }
    }
    let bg = [255, 255, 255, 1];
    for (let i = layers.length - 1; i >= 0; i--) bg = blend(layers[i], bg);
    return bg;
  };
  const lum = (c) => {
    const f = (v) => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    };
    return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]);
  };
  const seen = new Set();
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    if (!n.textContent.trim()) continue;
    const el = n.parentElement;
    if (!el || seen.has(el) || el.closest("svg, canvas, [aria-hidden=true], .sr-only, .qe-input, option")) continue;
    seen.add(el);
    if (!visible(el) || el.closest(":disabled")) continue;
    const s = getComputedStyle(el);
    const fg0 = parse(s.color);
    if (!fg0) continue;
    const bg = background(el);
    const fg = blend(fg0, bg);
    const l1 = lum(fg), l2 = lum(bg);
    const ratio = (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
    const size = parseFloat(s.fontSize);
    const large = size >= 24 || (size >= 18.66 && Number(s.fontWeight) >= 700);
    const need = large ? 3 : 4.5;
    if (ratio < need) problems.push("contrast " + ratio.toFixed(2) + " < " + need + ": " + describe(el) + " " + s.color + " on rgb(" + bg.slice(0, 3).map(Math.round).join(",") + ")");
  }
  return problems;
})()`

// CheckA11y fails the test for every control without an accessible name,
// image without an alternative and text without enough contrast in the
// page as it is now.
func (b *Browser) CheckA11y() {
	b.t.Helper()
	if problems := b.A11yProblems(); len(problems) > 0 {
		b.t.Errorf("accessibility: %d problem(s):\n  %s", len(problems), strings.Join(problems, "\n  "))
	}
}

// A11yProblems lists what CheckA11y would fail on.
func (b *Browser) A11yProblems() []string {
	b.t.Helper()
	var problems []string
	b.Run("check accessibility", chromedp.Evaluate(a11yScript, &problems))
	return problems
}
