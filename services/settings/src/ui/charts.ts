/**
 * The geometry of «Аналитика»'s charts, drawn as SVG by templates/partials/chart.hbs: bars, axis
 * labels and grid lines in the chart's own units. Drawn on our side, with no script: the pages'
 * CSP runs only our one static script, and the numbers are in the tables beside each chart anyway
 * (docs/decisions.md, «Charts drawn on the server as SVG»).
 */

export interface Bar {
  x: number;
  y: number;
  w: number;
  h: number;
  /** The series' class (its colour in app.css). */
  cls: string;
  /** The tooltip: what the bar counts. */
  title: string;
}
export interface Label {
  x: number;
  y: number;
  text: string;
  anchor: 'start' | 'middle' | 'end';
}
export interface Chart {
  width: number;
  height: number;
  bars: Bar[];
  labels: Label[];
  grid: Array<{ x1: number; y1: number; x2: number; y2: number }>;
  legend: Array<{ cls: string; text: string }>;
}
export interface Series {
  cls: string;
  name: string;
  values: number[];
}

const WIDTH = 720;
const r1 = (n: number) => Math.round(n * 10) / 10;

/** A round step for an axis up to `max` in about four steps (1, 2, 5 × 10ⁿ). */
export function niceStep(max: number): number {
  if (max <= 0) return 1;
  const raw = max / 4;
  const p = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw)!;
}

/** Bars standing side by side per category (a day or a week), the value axis on the left. */
export function columns(
  categories: string[],
  series: Series[],
  format: (n: number) => string = String,
): Chart {
  const height = 240;
  const left = 44;
  const bottom = 28;
  const top = 8;
  const plotW = WIDTH - left - 8;
  const plotH = height - top - bottom;
  const max = Math.max(0, ...series.flatMap((s) => s.values));
  const step = niceStep(max);
  const top0 = Math.max(step, Math.ceil(max / step) * step);
  const slot = plotW / Math.max(1, categories.length);
  const barW = Math.max(1, (slot * 0.8) / Math.max(1, series.length));
  const chart: Chart = {
    width: WIDTH,
    height,
    bars: [],
    labels: [],
    grid: [],
    legend: series.map((s) => ({ cls: s.cls, text: s.name })),
  };
  for (let v = 0; v <= top0; v += step) {
    const y = r1(top + plotH - (v / top0) * plotH);
    chart.grid.push({ x1: left, y1: y, x2: WIDTH - 8, y2: y });
    chart.labels.push({ x: left - 6, y: r1(y + 4), text: format(v), anchor: 'end' });
  }
  // At most about twelve category labels: every k-th.
  const every = Math.max(1, Math.ceil(categories.length / 12));
  categories.forEach((c, i) => {
    const x0 = left + i * slot + slot * 0.1;
    series.forEach((s, j) => {
      const v = s.values[i] ?? 0;
      const h = (v / top0) * plotH;
      if (v > 0)
        chart.bars.push({
          x: r1(x0 + j * barW),
          y: r1(top + plotH - h),
          w: r1(barW),
          h: r1(h),
          cls: s.cls,
          title: `${c}: ${s.name} ${format(v)}`,
        });
    });
    if (i % every === 0)
      chart.labels.push({ x: r1(left + i * slot + slot / 2), y: height - 10, text: c, anchor: 'middle' });
  });
  return chart;
}

/** Horizontal bars, one row per item (a funnel step, a vacancy), each with its series side by side. */
export function rows(
  items: Array<{ label: string; values: number[] }>,
  series: Array<{ cls: string; name: string }>,
  format: (n: number) => string = String,
): Chart {
  const left = 210;
  const right = 90;
  const rowH = 10 + 14 * series.length;
  const height = Math.max(1, items.length) * rowH + 8;
  const plotW = WIDTH - left - right;
  const max = Math.max(1, ...items.flatMap((i) => i.values));
  const chart: Chart = {
    width: WIDTH,
    height,
    bars: [],
    labels: [],
    grid: [{ x1: left, y1: 0, x2: left, y2: height }],
    legend: series.length > 1 ? series.map((s) => ({ cls: s.cls, text: s.name })) : [],
  };
  items.forEach((item, i) => {
    const y0 = 4 + i * rowH;
    chart.labels.push({
      x: left - 8,
      y: r1(y0 + rowH / 2 + 2),
      text: item.label.length > 32 ? `${item.label.slice(0, 31)}…` : item.label,
      anchor: 'end',
    });
    series.forEach((s, j) => {
      const v = item.values[j] ?? 0;
      const w = (v / max) * plotW;
      const y = y0 + 4 + j * 14;
      chart.bars.push({
        x: left,
        y,
        w: r1(Math.max(w, v > 0 ? 1 : 0)),
        h: 12,
        cls: s.cls,
        title: `${item.label}: ${s.name} ${format(v)}`,
      });
      chart.labels.push({ x: r1(left + w + 4), y: y + 10, text: format(v), anchor: 'start' });
    });
  });
  return chart;
}
