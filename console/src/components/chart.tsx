// Charts over time, drawn with uPlot: bars (hits histograms) or lines,
// one series per group, coloured from the theme. Dragging across the plot
// asks for a zoom to that range.
import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

export interface Series {
  label: string;
  values: (number | null)[];
}

interface Props {
  // times in epoch seconds
  times: number[];
  series: Series[];
  kind?: "bars" | "lines";
  stacked?: boolean;
  height?: number;
  label: string; // accessible description
  onZoom?: (fromMs: number, toMs: number) => void;
  // stepSeconds widens bars to their bucket.
  stepSeconds?: number;
  // xRange fixes the time axis (epoch seconds), e.g. to the queried range.
  xRange?: [number, number];
  // colors, by series label, override the palette (severity levels).
  colors?: Record<string, string>;
}

function palette(): string[] {
  const cs = getComputedStyle(document.documentElement);
  return [1, 2, 3, 4, 5, 6].map((i) => cs.getPropertyValue("--chart-" + i).trim() || "#0a78a8");
}

function themeColor(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

// stack turns series into cumulative sums so bars or areas stack.
function stack(series: Series[]): (number | null)[][] {
  const acc: number[] = new Array(series[0]?.values.length ?? 0).fill(0);
  return series.map((s) =>
    s.values.map((v, i) => {
      acc[i] += v ?? 0;
      return acc[i];
    }),
  );
}

export function TimeChart({ times, series, kind = "bars", stacked = true, height = 160, label, onZoom, stepSeconds, colors: fixed, xRange }: Props) {
  const el = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const zoomRef = useRef(onZoom);
  zoomRef.current = onZoom;

  useEffect(() => {
    const host = el.current;
    if (!host) return;
    let disposed = false;
    const build = () => {
      plot.current?.destroy();
      const colors = palette();
      const colorOf = (i: number) => (fixed?.[series[i].label] ? themeColor(fixed[series[i].label]) : colors[i % colors.length]);
      const text = themeColor("--muted");
      const grid = themeColor("--border");
      const values = kind === "bars" && stacked && series.length > 1 ? stack(series) : series.map((s) => s.values);
      // Draw the last (largest) stack first so smaller ones show on top.
      const order = values.map((_, i) => i);
      if (kind === "bars" && stacked) order.reverse();
      const bars = uPlot.paths.bars!({ size: [0.9, 60], align: 1 });
      const opts: uPlot.Options = {
        width: host.clientWidth || 600,
        height,
        legend: { show: series.length > 1, live: false },
        cursor: { drag: { x: !!zoomRef.current, y: false, setScale: false }, points: { show: kind === "lines" } },
        select: { show: true, left: 0, top: 0, width: 0, height: 0 },
        scales: {
          x: {
            time: true,
            range: xRange ? [xRange[0], xRange[1]] : stepSeconds && times.length ? [times[0], times[times.length - 1] + stepSeconds] : undefined,
          },
        },
        axes: [
          { stroke: text, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid } },
          {
            stroke: text,
            grid: { stroke: grid, width: 1 },
            ticks: { stroke: grid },
            // Wide enough for the longest tick label ("100,000").
            size: (_u: uPlot, values: string[]) => 16 + 7.5 * Math.max(2, ...(values ?? []).map((v) => String(v).length)),
          },
        ],
        series: [
          {},
          ...order.map((i) => ({
            label: series[i].label,
            stroke: colorOf(i),
            fill: kind === "bars" ? colorOf(i) : undefined,
            width: kind === "bars" ? 0 : 2,
            paths: kind === "bars" ? bars : undefined,
            points: { show: false },
          })),
        ],
        hooks: {
          setSelect: [
            (u: uPlot) => {
              if (u.select.width < 3 || !zoomRef.current) return;
              const from = u.posToVal(u.select.left, "x");
              const to = u.posToVal(u.select.left + u.select.width, "x");
              u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
              zoomRef.current(from * 1000, to * 1000);
            },
          ],
        },
      };
      const data: uPlot.AlignedData = [times, ...order.map((i) => values[i])];
      plot.current = new uPlot(opts, data, host);
    };
    build();
    // Follow the container's width and the theme.
    const ro = new ResizeObserver(() => {
      if (!disposed && plot.current && host.clientWidth && Math.abs(plot.current.width - host.clientWidth) > 2) {
        plot.current.setSize({ width: host.clientWidth, height });
      }
    });
    ro.observe(host);
    const mo = new MutationObserver(() => !disposed && build());
    mo.observe(document.documentElement, { attributes: true, attributeFilter: ["data-theme"] });
    return () => {
      disposed = true;
      ro.disconnect();
      mo.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
  }, [times, series, kind, stacked, height, stepSeconds, fixed, xRange?.[0], xRange?.[1]]);

  return <div class="chart" ref={el} role="img" aria-label={label} />;
}

// BarList draws labelled horizontal bars: top values, counts by group.
export function BarList({ rows, label }: { rows: { label: string; value: number; href?: string }[]; label: string }) {
  const max = Math.max(1, ...rows.map((r) => r.value));
  return (
    <table class="barlist">
      <caption class="sr-only">{label}</caption>
      <tbody>
        {rows.map((r, i) => (
          <tr key={i}>
            <th scope="row" title={r.label}>
              {r.href ? <a href={r.href}>{r.label || "(empty)"}</a> : r.label || "(empty)"}
            </th>
            <td class="bar-cell">
              <span class="bar" style={{ width: (100 * r.value) / max + "%" }} />
            </td>
            <td class="num">{r.value.toLocaleString()}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
